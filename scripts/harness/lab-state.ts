// What `make up` started, so that down, ps, logs, the scenarios and the
// scripts run by hand find the same lab: which mode and Kafka release,
// whether it started the local stack (down stops only what up started), the
// endpoints a client on this machine uses, and the DLQ tokens it generated. Kept in the git-ignored .cache/lab.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LAB_STATE_FILE } from '../../services/lib/lab-endpoints.ts';
import type { ObservabilityUrls } from './local-observability.ts';

export type LabMode = 'compose' | 'local';

export interface LabState {
  mode: LabMode;
  /** The broker's release (KAFKA_VERSION at up): 3.9.x with ZooKeeper, or 4.x in KRaft mode. */
  kafkaVersion: string;
  /** Local mode: `up` started the local stack, so `down` stops it. */
  startedStack: boolean;
  /** Services of compose.yaml that up left out (the producer, with PRODUCER=0). */
  leftOut: string[];
  brokers: string;
  registryUrl: string;
  dlqApiToken: string;
  /** The token Alertmanager's webhook sends to POST /alerts. */
  dlqAlertsToken: string;
  /** Prometheus and Alertmanager, when the lab runs them (local mode: when they are installed). */
  observability?: ObservabilityUrls;
}

/** Where the local lab keeps its state, pids and logs (git-ignored). */
export const LAB_DIR = dirname(LAB_STATE_FILE);
const STATE_FILE = LAB_STATE_FILE;

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
