// Where the integration tests get a real broker and registry: from
// KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set (make test sets them), else
// from the local stack (jars, no Docker), started here if it is not running.
import { randomBytes } from 'node:crypto';
import { stackUp, startComponent, stopComponent } from '../../scripts/lib/local-stack.ts';

export interface Infrastructure {
  brokers: string[];
  registryUrl: string;
  /** True when the broker and registry are this machine's local stack, so a test may stop and start them. */
  local: boolean;
}

let cached: Promise<Infrastructure> | undefined;

export function infrastructure(): Promise<Infrastructure> {
  cached ??= resolveInfrastructure();
  return cached;
}

async function resolveInfrastructure(): Promise<Infrastructure> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, LOCAL_STACK } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL) {
    return { brokers: KAFKA_BROKERS.split(','), registryUrl: SCHEMA_REGISTRY_URL, local: LOCAL_STACK === '1' };
  }
  if (KAFKA_BROKERS || SCHEMA_REGISTRY_URL) {
    throw new Error('Set both KAFKA_BROKERS and SCHEMA_REGISTRY_URL, or neither (then the local stack is used).');
  }
  const stack = await stackUp();
  return { brokers: stack.brokers.split(','), registryUrl: stack.registryUrl, local: true };
}

/** Stops the local registry, runs the body, and starts the registry again whatever happens. */
export async function withRegistryStopped<T>(body: () => Promise<T>): Promise<T> {
  await stopComponent('registry');
  try {
    return await body();
  } finally {
    await startComponent('registry');
  }
}

/** A name no other test run uses, so suites never see each other's topics. */
export function uniqueName(prefix: string): string {
  return `it-${prefix}-${randomBytes(4).toString('hex')}`;
}
