// Defaults for running an entrypoint by hand beside a lab that `make up`
// started: when neither KAFKA_BROKERS nor SCHEMA_REGISTRY_URL is set, the
// broker and registry of that lab, from the state file `make up` writes
// (scripts/harness/lab-state.ts), with a note saying so for the first line of
// output. With either variable set, or with no lab up (inside Compose, say),
// the environment is left as it is and the config check names what is missing.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where `make up` records its lab (git-ignored). */
export const LAB_STATE_FILE = fileURLToPath(new URL('../../.cache/lab/state.json', import.meta.url));

type Env = Record<string, string | undefined>;

export function withLabEndpoints(env: Env): { env: Env; note?: string } {
  if (env.KAFKA_BROKERS || env.SCHEMA_REGISTRY_URL) return { env };
  let state: { brokers?: unknown; registryUrl?: unknown };
  try {
    state = JSON.parse(readFileSync(LAB_STATE_FILE, 'utf8')) as typeof state;
  } catch {
    return { env }; // no lab up
  }
  const { brokers, registryUrl } = state;
  if (typeof brokers !== 'string' || typeof registryUrl !== 'string') return { env };
  return {
    env: { ...env, KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl },
    note:
      `KAFKA_BROKERS and SCHEMA_REGISTRY_URL are not set: using the lab \`make up\` started ` +
      `(Kafka ${brokers}, registry ${registryUrl})`,
  };
}
