// What `make up` started, so that down, ps, logs and the scenarios find the
// same lab: which mode, whether it started the local stack (down stops only
// what up started), the endpoints a client on this machine uses, and the DLQ
// API token it generated. Kept in the git-ignored .cache/lab.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LabMode = 'compose' | 'local';

export interface LabState {
  mode: LabMode;
  /** Local mode: `up` started the local stack, so `down` stops it. */
  startedStack: boolean;
  profiles: string[];
  brokers: string;
  registryUrl: string;
  dlqApiToken: string;
}

/** Where the local lab keeps its state, pids and logs (git-ignored). */
export const LAB_DIR = fileURLToPath(new URL('../../.cache/lab/', import.meta.url));
const STATE_FILE = join(LAB_DIR, 'state.json');

export async function readLabState(): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(STATE_FILE, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export async function writeLabState(state: LabState): Promise<void> {
  await mkdir(LAB_DIR, { recursive: true });
  // It holds the API token: readable by this user only.
  await writeFile(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export async function clearLabState(): Promise<void> {
  await rm(STATE_FILE, { force: true });
}
