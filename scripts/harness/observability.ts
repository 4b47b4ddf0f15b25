// Prometheus and Alertmanager outside Docker, for the local lab (`make up`)
// and scenario-alert: Debian's `prometheus` and `prometheus-alertmanager`
// with the files of observability/, rewritten for where the services listen
// on this machine (compose.yaml's host names become addresses given here).
// The rules are the same file; a scenario may run a copy whose durations are
// divided by a factor, so that what takes minutes in the lab takes seconds.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { onPath } from './local-stack.ts';

const execFileAsync = promisify(execFile);

export const OBSERVABILITY_DIR = fileURLToPath(new URL('../../observability/', import.meta.url));
export const RULES_FILE = join(OBSERVABILITY_DIR, 'alerts.yml');
/** Debian's packages; the Alertmanager binary is `prometheus-alertmanager` there, `alertmanager` upstream. */
const PACKAGES = ['prometheus', 'prometheus-alertmanager'];
export const INSTALL_HINT = `apt-get install ${PACKAGES.join(' ')}`;

export interface ObservabilityBinaries {
  prometheus: string;
  alertmanager: string;
}

async function findBinaries(): Promise<ObservabilityBinaries | undefined> {
  const prometheus = await onPath('prometheus');
  const alertmanager = await onPath('prometheus-alertmanager', 'alertmanager');
  return prometheus && alertmanager ? { prometheus, alertmanager } : undefined;
}

/**
 * Prometheus and Alertmanager from PATH; when missing and running as root,
 * installed first with apt-get. Rejects saying what to install otherwise.
 */
export async function observabilityBinaries(say: (line: string) => void): Promise<ObservabilityBinaries> {
  const found = await findBinaries();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`Prometheus and Alertmanager are not installed and this user is not root: run ${INSTALL_HINT}`);
  }
  say(`Installing Prometheus and Alertmanager (${INSTALL_HINT})...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await execFileAsync('apt-get', ['update', '-qq'], { env });
    await execFileAsync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], { env });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`${INSTALL_HINT} failed: ${(stderr || message).trim().split('\n').slice(-3).join(' | ')}`);
  }
  const installed = await findBinaries();
  if (!installed) throw new Error(`${INSTALL_HINT} ran, but prometheus or its alertmanager is still not on PATH`);
  return installed;
}

/** compose.yaml's host names (consumer, dlq-service, producer, alertmanager) → host:port where they listen here. */
export type Addresses = Record<string, string>;

/** `host:port` with the host replaced by its address; undefined for a host with none. */
function relocate(target: string, addresses: Addresses): string | undefined {
  const host = target.slice(0, target.lastIndexOf(':'));
  return addresses[host];
}

export interface PrometheusSetup {
  addresses: Addresses;
  rulesFile: string;
  /** Scrape and evaluation interval (observability/prometheus.yml's when absent). */
  interval?: string;
}

/**
 * observability/prometheus.yml for this machine: the rule file given, each
 * target at its address; a job whose service has no address here (the demo
 * producer a scenario does not run) is left out.
 */
export async function prometheusConfig({ addresses, rulesFile, interval }: PrometheusSetup): Promise<string> {
  const config = parse(await readFile(join(OBSERVABILITY_DIR, 'prometheus.yml'), 'utf8'));
  if (interval) config.global = { ...config.global, scrape_interval: interval, evaluation_interval: interval };
  config.rule_files = [rulesFile];
  for (const alerting of config.alerting.alertmanagers) {
    for (const group of alerting.static_configs) group.targets = relocated(group.targets, addresses);
  }
  config.scrape_configs = config.scrape_configs.flatMap((job: { static_configs: { targets: string[] }[] }) => {
    const groups = job.static_configs
      .map((group) => ({ ...group, targets: relocated(group.targets, addresses) }))
      .filter((group) => group.targets.length > 0);
    return groups.length > 0 ? [{ ...job, static_configs: groups }] : [];
  });
  return stringify(config);
}

function relocated(targets: readonly string[], addresses: Addresses): string[] {
  return targets.flatMap((target) => relocate(target, addresses) ?? []);
}

export interface AlertmanagerSetup {
  addresses: Addresses;
  /** The file holding DLQ_ALERTS_TOKEN. */
  tokenFile: string;
  /** Shorter notification delays than the lab's (a scenario's). */
  groupWait?: string;
  groupInterval?: string;
}

/** observability/alertmanager.yml for this machine: the webhook at the DLQ service's address, the token file given. */
export async function alertmanagerConfig({
  addresses,
  tokenFile,
  groupWait,
  groupInterval,
}: AlertmanagerSetup): Promise<string> {
  const config = parse(await readFile(join(OBSERVABILITY_DIR, 'alertmanager.yml'), 'utf8'));
  if (groupWait) config.route.group_wait = groupWait;
  if (groupInterval) config.route.group_interval = groupInterval;
  for (const receiver of config.receivers) {
    for (const webhook of receiver.webhook_configs ?? []) {
      const url = new URL(webhook.url);
      const address = relocate(url.host, addresses);
      if (!address) throw new Error(`alertmanager.yml: no address here for the webhook's host ${url.hostname}`);
      url.host = address;
      webhook.url = url.toString();
      webhook.http_config.authorization.credentials_file = tokenFile;
    }
  }
  return stringify(config);
}

const UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A Prometheus duration ("5m", "90s") divided by `factor`, in seconds or milliseconds. */
function divided(duration: string, factor: number): string {
  const match = /^(\d+)(ms|s|m|h)$/.exec(duration);
  if (!match) throw new Error(`alerts.yml: a duration this copy cannot shorten: "${duration}"`);
  const ms = Math.round((Number(match[1]) * UNITS_MS[match[2] as keyof typeof UNITS_MS]) / factor);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The rules with every `for` and every range selector (`[5m]`) divided by
 * `factor`: the same rules on a faster clock, for a scenario that cannot
 * wait minutes. Thresholds stay as they are.
 */
export function hastenedRules(rulesText: string, factor: number): string {
  const config = parse(rulesText);
  for (const group of config.groups) {
    for (const rule of group.rules) {
      if (rule.for) rule.for = divided(rule.for, factor);
      rule.expr = String(rule.expr).replace(/\[(\w+)\]/g, (_, range: string) => `[${divided(range, factor)}]`);
    }
  }
  return stringify(config);
}

export interface ObservabilityLaunch {
  /** Where the rendered configuration, the token file and both data directories go. */
  dir: string;
  prometheusPort: number;
  alertmanagerPort: number;
  /** Where the services and Alertmanager listen, for both configurations. */
  addresses: Addresses;
  prometheus: Omit<PrometheusSetup, 'addresses'>;
  alertmanager: Omit<AlertmanagerSetup, 'addresses' | 'tokenFile'> & { token: string };
}

/** Writes both configurations under `dir`; resolves to the command lines that run them on 127.0.0.1. */
export async function prepareObservability(
  binaries: ObservabilityBinaries,
  launch: ObservabilityLaunch,
): Promise<Record<'prometheus' | 'alertmanager', { command: string; args: string[] }>> {
  const { dir } = launch;
  await mkdir(join(dir, 'prometheus-data'), { recursive: true });
  await mkdir(join(dir, 'alertmanager-data'), { recursive: true });
  const tokenFile = join(dir, 'dlq-alerts-token');
  // DLQ_ALERTS_TOKEN, readable by this user only (chmod too: the file may be there from an earlier start).
  await writeFile(tokenFile, launch.alertmanager.token, { mode: 0o600 });
  await chmod(tokenFile, 0o600);
  const prometheusFile = join(dir, 'prometheus.yml');
  const alertmanagerFile = join(dir, 'alertmanager.yml');
  const { addresses } = launch;
  await writeFile(prometheusFile, await prometheusConfig({ ...launch.prometheus, addresses }));
  await writeFile(alertmanagerFile, await alertmanagerConfig({ ...launch.alertmanager, addresses, tokenFile }));
  return {
    prometheus: {
      command: binaries.prometheus,
      args: [
        `--config.file=${prometheusFile}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        '--storage.tsdb.retention.time=2d',
        `--web.listen-address=127.0.0.1:${launch.prometheusPort}`,
      ],
    },
    alertmanager: {
      command: binaries.alertmanager,
      args: [
        `--config.file=${alertmanagerFile}`,
        `--storage.path=${join(dir, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${launch.alertmanagerPort}`,
        // One node: no gossip port.
        '--cluster.listen-address=',
      ],
    },
  };
}
