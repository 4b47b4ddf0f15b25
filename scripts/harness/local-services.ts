// The lab's tsx services as local processes, for machines without Docker: the
// same services, commands, start order and environment as compose.yaml, with
// Kafka and the registry of the local stack. Processes are detached so they
// outlive `make up`, each under a supervisor that restarts it when it exits
// unasked (compose.yaml's restart policy); pid files (of the supervisors) and
// logs live in the git-ignored .cache/lab,
// and stopping signals only a pid whose command line is still our entrypoint.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceSpecs } from '../../services/lib/config.ts';
import {
  isOneShot,
  ourServices,
  readComposeFile,
  resolvedEnvironment,
  startOrder,
  type ComposeService,
} from './compose-file.ts';
import { LAB_DIR } from './lab-state.ts';
import { commandLineOf } from './local-stack.ts';
import { ourPidFrom, spawnLogged, stopProcess, tailFile } from './processes.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_DIR = join(LAB_DIR, 'run');
const LOG_DIR = join(LAB_DIR, 'logs');
const STOP_TIMEOUT_MS = 15_000;
/** The DLQ service's archive in the local lab (`make down CLEAN=1` removes it). */
export const LOCAL_DLQ_ARCHIVE = join(LAB_DIR, 'dlq-archive.sqlite');
const SUPERVISOR = join(REPO_ROOT, 'scripts/supervise.ts');

export interface LocalService {
  service: ComposeService;
  /** What the process gets: compose.yaml's environment with the local endpoints. */
  env: Record<string, string>;
  logFile: string;
}

export interface LocalServiceStatus {
  name: string;
  pid: number | undefined;
  /** Runs to completion at start (topic-init) rather than staying up. */
  oneShot: boolean;
  logFile: string;
}

/** The tsx services of compose.yaml but those left out, in start order. */
export function localServices(
  endpoints: { brokers: string; registryUrl: string },
  leftOut: readonly string[],
  env = process.env,
): LocalService[] {
  // Variables compose.yaml does not set must not leak in from the caller's
  // shell either: the local lab runs exactly what Compose would.
  const known = new Set(Object.values(serviceSpecs).flatMap((spec) => Object.keys(spec)));
  const base = Object.fromEntries(Object.entries(env).filter(([name]) => !known.has(name)));
  return startOrder(ourServices(readComposeFile()))
    .filter((service) => !leftOut.includes(service.name))
    .map((service) => ({
      service,
      env: {
        ...(base as Record<string, string>),
        ...resolvedEnvironment(service, env),
        KAFKA_BROKERS: endpoints.brokers,
        SCHEMA_REGISTRY_URL: endpoints.registryUrl,
        // Compose's path is inside its volume; here the archive lives with the lab's other state.
        ...(service.environment.DLQ_DB_PATH === undefined ? {} : { DLQ_DB_PATH: LOCAL_DLQ_ARCHIVE }),
      },
      logFile: logFileOf(service.name),
    }));
}

function logFileOf(name: string): string {
  return join(LOG_DIR, `${name}.log`);
}

function entrypointOf(service: ComposeService): string {
  const entrypoint = service.command?.[0];
  if (!entrypoint) throw new Error(`compose.yaml: ${service.name} has no command`);
  return join(REPO_ROOT, entrypoint);
}

function pidFile(name: string): string {
  return join(RUN_DIR, `${name}.pid`);
}

/** Our pid for the service, if its process still runs our entrypoint. */
function runningPid(service: ComposeService): Promise<number | undefined> {
  return ourPidFrom(
    pidFile(service.name),
    async (pid) => (await commandLineOf(pid))?.includes(entrypointOf(service)) ?? false,
  );
}

/** A long-running service runs under scripts/supervise.ts, which restarts it as Compose's restart policy would. */
function launch({ service, env, logFile }: LocalService, supervised: boolean): ReturnType<typeof spawnLogged> {
  const command = [entrypointOf(service), ...(service.command?.slice(1) ?? [])];
  return spawnLogged({
    command: process.execPath,
    args: ['--import', 'tsx', ...(supervised ? [SUPERVISOR] : []), ...command],
    cwd: REPO_ROOT,
    env,
    detached: supervised,
    logFile,
  });
}

/**
 * Starts the services in order: a one-shot service (topic-init) runs to
 * completion first and must exit 0, as `service_completed_successfully`
 * demands; the others are started detached. A service already running as
 * ours is left as it is.
 */
export async function startLocalServices(
  services: readonly LocalService[],
  say: (line: string) => void,
): Promise<void> {
  const all = services.map(({ service }) => service);
  await mkdir(RUN_DIR, { recursive: true });
  await mkdir(LOG_DIR, { recursive: true });
  for (const local of services) {
    const { service } = local;
    if (isOneShot(service, all)) {
      say(`Running ${service.name}...`);
      const code = await (await launch(local, false)).exited;
      if (code !== 0) throw new Error(`${service.name} exited with ${code}:\n${await tailFile(local.logFile, 20)}`);
      continue;
    }
    const running = await runningPid(service);
    if (running !== undefined) {
      say(`${service.name} is already running (pid ${running})`);
      continue;
    }
    const { child } = await launch(local, true);
    child.unref();
    await writeFile(pidFile(service.name), `${child.pid}\n`);
    say(`Started ${service.name} (pid ${child.pid}), log: ${local.logFile}`);
  }
}

/** SIGTERM (the services shut down gracefully), SIGKILL after a deadline; last started, first stopped. */
export async function stopLocalServices(say: (line: string) => void): Promise<void> {
  for (const service of startOrder(ourServices(readComposeFile())).reverse()) {
    const pid = await runningPid(service);
    if (pid === undefined) continue;
    say(`Stopping ${service.name} (pid ${pid})...`);
    const stopped = await stopProcess(pid, STOP_TIMEOUT_MS, () =>
      say(`${service.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s: killing it`),
    );
    if (!stopped) throw new Error(`${service.name} (pid ${pid}) survived SIGKILL`);
    await rm(pidFile(service.name), { force: true });
  }
}

export async function localServiceStatus(): Promise<LocalServiceStatus[]> {
  const all = ourServices(readComposeFile());
  return Promise.all(
    all.map(async (service) => ({
      name: service.name,
      pid: await runningPid(service),
      oneShot: isOneShot(service, all),
      logFile: logFileOf(service.name),
    })),
  );
}
