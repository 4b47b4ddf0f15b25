// Prometheus and Alertmanager in the local lab (`make up` without Docker):
// Debian's packages run detached like the lab's services, with the files of
// observability/ rewritten for 127.0.0.1 (scripts/harness/observability.ts),
// their configuration, data, pid files and logs under the git-ignored
// .cache/lab. Prometheus listens on 9090 as under Compose; Alertmanager on
// 9094, since the local stack's KRaft controller holds 9093.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ourServices, readComposeFile, resolvedEnvironment } from './compose-file.ts';
import { LAB_DIR } from './lab-state.ts';
import { commandLineOf } from './local-stack.ts';
import { observabilityBinaries, prepareObservability, RULES_FILE, type Addresses } from './observability.ts';
import { ourPidFrom, spawnLogged, stopProcess } from './processes.ts';

const LOCAL_PROMETHEUS_PORT = 9090;
const LOCAL_ALERTMANAGER_PORT = 9094;
const DIR = join(LAB_DIR, 'observability');
export const OBSERVABILITY_COMPONENTS = ['prometheus', 'alertmanager'] as const;
type Component = (typeof OBSERVABILITY_COMPONENTS)[number];
const STOP_TIMEOUT_MS = 10_000;

export interface ObservabilityUrls {
  prometheus: string;
  alertmanager: string;
}

const pidFile = (name: Component) => join(LAB_DIR, 'run', `${name}.pid`);
export const observabilityLogFile = (name: Component) => join(LAB_DIR, 'logs', `${name}.log`);

/** Our pid for the component: its command line still names our configuration. */
function runningPid(name: Component): Promise<number | undefined> {
  return ourPidFrom(
    pidFile(name),
    async (pid) => (await commandLineOf(pid))?.includes(join(DIR, `${name}.yml`)) ?? false,
  );
}

/** Where the lab's tsx services listen here (compose.yaml's HTTP_PORT on 127.0.0.1), and Alertmanager. */
function localAddresses(leftOut: readonly string[], env: NodeJS.ProcessEnv): Addresses {
  const services = ourServices(readComposeFile()).filter((service) => !leftOut.includes(service.name));
  const addresses: Addresses = { alertmanager: `127.0.0.1:${LOCAL_ALERTMANAGER_PORT}` };
  for (const service of services) {
    const port = resolvedEnvironment(service, env).HTTP_PORT;
    if (port) addresses[service.name] = `127.0.0.1:${port}`;
  }
  return addresses;
}

/**
 * Starts both (a running one is left as it is) and resolves to their URLs;
 * resolves to undefined, having said why, when they are not installed and
 * cannot be: the lab runs without them.
 */
export async function startLocalObservability(
  options: { leftOut: readonly string[]; alertsToken: string; env: NodeJS.ProcessEnv },
  say: (line: string) => void,
): Promise<ObservabilityUrls | undefined> {
  const binaries = await observabilityBinaries(say).catch((error: Error) => {
    say(`Starting without Prometheus and Alertmanager: ${error.message}`);
    return undefined;
  });
  if (!binaries) return undefined;
  const running = await localObservabilityStatus();
  // The configuration is written only when something is to start: a running Prometheus keeps the file it loaded.
  if (running.some(({ pid }) => pid === undefined)) {
    const commands = await prepareObservability(binaries, {
      dir: DIR,
      prometheusPort: LOCAL_PROMETHEUS_PORT,
      alertmanagerPort: LOCAL_ALERTMANAGER_PORT,
      addresses: localAddresses(options.leftOut, options.env),
      prometheus: { rulesFile: RULES_FILE },
      alertmanager: { token: options.alertsToken },
    });
    await mkdir(join(LAB_DIR, 'run'), { recursive: true });
    await mkdir(join(LAB_DIR, 'logs'), { recursive: true });
    for (const { name, pid } of running) {
      if (pid !== undefined) {
        say(`${name} is already running (pid ${pid})`);
        continue;
      }
      const { child } = await spawnLogged({
        ...commands[name],
        cwd: DIR,
        detached: true,
        logFile: observabilityLogFile(name),
      });
      child.unref();
      await writeFile(pidFile(name), `${child.pid}\n`);
      say(`Started ${name} (pid ${child.pid}), log: ${observabilityLogFile(name)}`);
    }
  } else {
    say(`Prometheus and Alertmanager are already running (pids ${running.map(({ pid }) => pid).join(', ')})`);
  }
  return {
    prometheus: `http://localhost:${LOCAL_PROMETHEUS_PORT}`,
    alertmanager: `http://localhost:${LOCAL_ALERTMANAGER_PORT}`,
  };
}

export async function stopLocalObservability(say: (line: string) => void, clean: boolean): Promise<void> {
  for (const name of OBSERVABILITY_COMPONENTS) {
    const pid = await runningPid(name);
    if (pid === undefined) continue;
    say(`Stopping ${name} (pid ${pid})...`);
    const stopped = await stopProcess(pid, STOP_TIMEOUT_MS, () => say(`${name} did not stop: killing it`));
    if (!stopped) throw new Error(`${name} (pid ${pid}) survived SIGKILL`);
    await rm(pidFile(name), { force: true });
  }
  if (clean) await rm(DIR, { recursive: true, force: true });
}

export async function localObservabilityStatus(): Promise<{ name: Component; pid: number | undefined }[]> {
  return Promise.all(OBSERVABILITY_COMPONENTS.map(async (name) => ({ name, pid: await runningPid(name) })));
}
