#!/usr/bin/env -S npx tsx
// The whole lab, one command: `make up` runs compose.yaml on Docker Compose
// when a Docker engine answers, and otherwise the local stack (jars) plus the
// same tsx services as local processes. It says which it chose and why;
// --stack (or STACK=compose|local) forces one. down, ps and logs act on
// whatever up started.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  composeFiles,
  isOneShot,
  ourServices,
  publishedPort,
  readComposeFile,
  resolvedEnvironment,
  type ComposeService,
} from './harness/compose-file.ts';
import { composeCommand, dockerEngine } from './harness/docker.ts';
import { clearLabState, readLabState, writeLabState, type LabMode, type LabState } from './harness/lab-state.ts';
import { describeRelease, kafkaRelease } from './harness/kafka-release.ts';
import { COMPONENTS, logTail, stackDown, stackStatus, stackUp } from './harness/local-stack.ts';
import {
  LOCAL_DLQ_ARCHIVE,
  localServiceStatus,
  localServices,
  startLocalServices,
  stopLocalServices,
} from './harness/local-services.ts';
import {
  localObservabilityStatus,
  OBSERVABILITY_COMPONENTS,
  observabilityLogFile,
  startLocalObservability,
  stopLocalObservability,
  type ObservabilityUrls,
} from './harness/local-observability.ts';
import { tailFile } from './harness/processes.ts';
import { answersOk } from './harness/http-probe.ts';
import { runAttached } from './harness/run-command.ts';

const USAGE = `Usage: scripts/lab.ts <command> [options]

  up     [--stack compose|local] [--no-producer]   start the lab and wait until it is healthy
  down   [--clean]                         stop what up started (--clean: also its data)
  ps                                       what runs
  logs   [service] [--lines N]             the last lines of the logs

--stack defaults to $STACK, else Compose when \`docker info\` answers, else local.
KAFKA_VERSION chooses the broker: 3.9.1 (default, with ZooKeeper) or 4.x (KRaft).
--no-producer (PRODUCER=0) leaves out the continuous producer that feeds the
dashboard (a slow stream with a few failing orders mixed in).
DLQ_API_TOKEN sets the token replays need, DLQ_ALERTS_TOKEN the one Alertmanager's webhook sends; up generates
them otherwise.`;

const PROJECT = 'kafka-orders';
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const HEALTH_TIMEOUT_MS: Record<LabMode, number> = { compose: 180_000, local: 90_000 };

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    stack: { type: 'string', default: process.env.STACK || undefined },
    'no-producer': { type: 'boolean', default: process.env.PRODUCER === '0' },
    clean: { type: 'boolean', default: false },
    lines: { type: 'string', default: '100' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function say(line: string): void {
  console.log(line);
}

async function compose(state: LabState, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const release = kafkaRelease(state.kafkaVersion);
  const fileArgs = composeFiles(release).flatMap((file) => ['-f', join(REPO_ROOT, file)]);
  await runAttached([...(await composeCommand()), '-p', PROJECT, ...fileArgs, ...args], {
    ...env,
    KAFKA_VERSION: release.version,
  });
}

async function chooseMode(): Promise<{ mode: LabMode; why: string }> {
  const forced = values.stack;
  if (forced !== undefined) {
    if (forced !== 'compose' && forced !== 'local')
      throw new Error(`--stack (STACK) must be compose or local, got "${forced}"`);
    return { mode: forced, why: 'forced by --stack / STACK' };
  }
  const engine = await dockerEngine();
  return engine.answers
    ? { mode: 'compose', why: `a Docker engine answers (server ${engine.version})` }
    : { mode: 'local', why: `no Docker engine: ${engine.reason}` };
}

/** Where a client on this machine reaches Compose's Kafka (its host listener), registry and Prometheus/Alertmanager. */
function composeEndpoints(env: NodeJS.ProcessEnv): {
  brokers: string;
  registryUrl: string;
  observability: ObservabilityUrls;
} {
  const services = readComposeFile();
  const hostPort = (name: string, containerPort: number): number => {
    const service = services.find((candidate) => candidate.name === name);
    const port = service && publishedPort(service, containerPort, env);
    if (!port) throw new Error(`compose.yaml: ${name} does not publish its port ${containerPort}`);
    return port;
  };
  return {
    brokers: `localhost:${hostPort('kafka', 9092)}`,
    registryUrl: `http://localhost:${hostPort('schema-registry', 8081)}`,
    observability: {
      prometheus: `http://localhost:${hostPort('prometheus', 9090)}`,
      alertmanager: `http://localhost:${hostPort('alertmanager', 9093)}`,
    },
  };
}

// ---------------------------------------------------------------------------
// Health and URLs

interface Endpoint {
  service: ComposeService;
  /** Where this machine reaches the service's HTTP port. */
  baseUrl: string;
}

/** The long-running tsx services of this lab that have an HTTP port. */
function httpEndpoints(state: LabState): Endpoint[] {
  const all = readComposeFile();
  return ourServices(all)
    .filter((service) => !isOneShot(service, all))
    .filter((service) => !state.leftOut.includes(service.name))
    .flatMap((service) => {
      const port = Number(resolvedEnvironment(service, process.env).HTTP_PORT);
      const hostPort = state.mode === 'compose' ? publishedPort(service, port, process.env) : port;
      return hostPort ? [{ service, baseUrl: `http://localhost:${hostPort}` }] : [];
    });
}

async function waitUntilHealthy(state: LabState): Promise<void> {
  const checks = [
    { name: 'schema-registry', url: `${state.registryUrl}/subjects` },
    ...httpEndpoints(state).map(({ service, baseUrl }) => ({ name: service.name, url: `${baseUrl}/health` })),
    ...Object.entries(state.observability ?? {}).map(([name, url]) => ({ name, url: `${url}/-/ready` })),
  ];
  const timeoutMs = HEALTH_TIMEOUT_MS[state.mode];
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    const results = await Promise.all(checks.map(async (check) => ({ ...check, ok: await answersOk(check.url) })));
    const waiting = results.filter((result) => !result.ok);
    if (waiting.length === 0) return;
    if (state.mode === 'local') await failIfExited(waiting.map((check) => check.name));
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `not healthy after ${timeoutMs / 1000} s: ` +
          `${waiting.map((check) => `${check.name} (${check.url})`).join(', ')}. ` +
          '`make logs` shows why; `make down` stops what was started.',
      );
    }
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      say(`  waiting for ${waiting.map((check) => check.name).join(', ')} to be healthy...`);
    }
    await sleep(1000);
  }
}

/** A local service that died will never be healthy: say so at once, with the end of its log. */
async function failIfExited(names: string[]): Promise<void> {
  for (const { name, pid, logFile } of await localServiceStatus()) {
    if (names.includes(name) && pid === undefined) {
      throw new Error(`${name} exited; the end of ${logFile}:\n${await tailFile(logFile, 15)}`);
    }
  }
}

function printUrls(state: LabState): void {
  const rows: [string, string][] = [];
  for (const { service, baseUrl } of httpEndpoints(state)) {
    if (service.name === 'dlq-service') {
      rows.push(
        ['Dashboard', `${baseUrl}/`],
        ['DLQ API', `${baseUrl}/dlq`],
        ['API docs', `${baseUrl}/docs  (OpenAPI: ${baseUrl}/openapi.json)`],
        ['Order stats', `${baseUrl}/stats/orders`],
      );
    } else {
      rows.push([`${service.name} metrics`, `${baseUrl}/metrics`]);
    }
  }
  if (state.observability) {
    rows.push(
      ['Prometheus', `${state.observability.prometheus}/alerts  (rules: observability/alerts.yml)`],
      ['Alertmanager', state.observability.alertmanager],
    );
  }
  rows.push(['Schema registry', state.registryUrl], ['Kafka', state.brokers], ['DLQ_API_TOKEN', state.dlqApiToken]);
  say('');
  for (const [label, value] of rows) say(`  ${label.padEnd(18)} ${value}`);
  say(
    `\nReplay a dead letter: curl -X POST -H "Authorization: Bearer ${state.dlqApiToken}" ` +
      `${rows.find(([label]) => label === 'DLQ API')?.[1] ?? ''}/<id>/replay`,
  );
}

// ---------------------------------------------------------------------------
// Commands

async function up(): Promise<void> {
  const previous = await readLabState();
  const { mode, why } =
    previous && !values.stack ? { mode: previous.mode, why: 'already up in this mode' } : await chooseMode();
  if (previous && previous.mode !== mode)
    throw new Error(`the lab is up in ${previous.mode} mode; \`make down\` first`);
  const leftOut = values['no-producer'] ? ['producer'] : [];
  const release = kafkaRelease(previous?.kafkaVersion ?? process.env.KAFKA_VERSION);
  if (previous && process.env.KAFKA_VERSION && kafkaRelease().version !== previous.kafkaVersion) {
    throw new Error(`the lab is up with ${describeRelease(release)}; \`make down\` first to switch`);
  }
  // A token: the variable's, else the one the lab is up with, else a new one.
  const token = (variable: string, kept: string | undefined) =>
    process.env[variable] || kept || randomBytes(18).toString('base64url');
  const dlqApiToken = token('DLQ_API_TOKEN', previous?.dlqApiToken);
  const dlqAlertsToken = token('DLQ_ALERTS_TOKEN', previous?.dlqAlertsToken);
  const env = { ...process.env, DLQ_API_TOKEN: dlqApiToken, DLQ_ALERTS_TOKEN: dlqAlertsToken };
  say(
    `Starting the lab with ${mode === 'compose' ? 'Docker Compose' : 'the local stack (no Docker)'}: ` +
      `${/[.?!]$/.test(why) ? why : `${why}.`}`,
  );

  let state: LabState;
  if (mode === 'compose') {
    state = {
      mode,
      kafkaVersion: release.version,
      startedStack: false,
      leftOut,
      ...composeEndpoints(env),
      dlqApiToken,
      dlqAlertsToken,
    };
    await writeLabState(state);
    await compose(state, ['up', '-d', '--build', ...leftOut.flatMap((name) => ['--scale', `${name}=0`])], env);
  } else {
    const stack = await stackUp();
    state = {
      mode,
      kafkaVersion: stack.release.version,
      startedStack: (previous?.startedStack ?? false) || !stack.alreadyUp,
      leftOut,
      brokers: stack.brokers,
      registryUrl: stack.registryUrl,
      dlqApiToken,
      dlqAlertsToken,
    };
    await writeLabState(state);
    await startLocalServices(
      localServices({ brokers: stack.brokers, registryUrl: stack.registryUrl }, leftOut, env),
      say,
    );
    state.observability = await startLocalObservability({ leftOut, alertsToken: dlqAlertsToken, env }, say);
    await writeLabState(state);
  }
  say('Waiting until every service is healthy...');
  await waitUntilHealthy(state);
  say(`\nThe lab is up (${mode}, ${describeRelease(kafkaRelease(state.kafkaVersion))}).`);
  printUrls(state);
}

async function down(): Promise<void> {
  const state = await readLabState();
  if (state?.mode === 'compose') {
    await compose(state, ['down', ...(values.clean ? ['--volumes'] : [])]).catch(async (error: Error) => {
      // Without an engine nothing can be running: forget the state instead of failing forever.
      if ((await dockerEngine()).answers) throw error;
    });
  } else {
    await stopLocalObservability(say, values.clean);
    await stopLocalServices(say);
    if (values.clean) {
      await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${LOCAL_DLQ_ARCHIVE}${suffix}`, { force: true })));
      say(`Removed the DLQ archive (${LOCAL_DLQ_ARCHIVE})`);
    }
    if (state?.startedStack) {
      await stackDown({ clean: values.clean });
    } else if (state) {
      say('The local stack was already running before `make up`: left running (`make stack-down` stops it).');
    }
  }
  await clearLabState();
  say(state ? 'The lab is down.' : 'No lab state found (`make up` has not run); stopped any local services left over.');
}

async function ps(): Promise<void> {
  const state = await readLabState();
  if (state?.mode === 'compose') {
    say(`The lab runs on Docker Compose with ${describeRelease(kafkaRelease(state.kafkaVersion))}.`);
    return compose(state, ['ps']);
  }
  const { release, components } = await stackStatus();
  say(
    state
      ? `The lab runs locally (no Docker) with ${describeRelease(release)}.`
      : `The lab is not up (\`make up\` starts it); the local stack would run ${describeRelease(release)}.`,
  );
  for (const { name, pid, answering, port } of components) {
    say(
      `  ${name.padEnd(16)} ${(pid ? `running (pid ${pid})` : 'stopped').padEnd(22)} ` +
        `${answering ? 'answers' : 'does not answer'} on 127.0.0.1:${port}`,
    );
  }
  const endpoints = state
    ? new Map(httpEndpoints(state).map(({ service, baseUrl }) => [service.name, baseUrl]))
    : new Map<string, string>();
  for (const { name, pid, oneShot } of await localServiceStatus()) {
    const url = endpoints.get(name);
    const health =
      url && pid ? ((await answersOk(`${url}/health`)) ? `healthy at ${url}` : `not healthy at ${url}`) : '';
    const running = pid ? `running (pid ${pid})` : oneShot ? 'one-shot, runs at up' : 'stopped';
    say(`  ${name.padEnd(16)} ${running.padEnd(22)} ${health}`);
  }
  for (const { name, pid } of await localObservabilityStatus()) {
    const url = state?.observability?.[name];
    const ready = url && pid ? ((await answersOk(`${url}/-/ready`)) ? `ready at ${url}` : `not ready at ${url}`) : '';
    say(`  ${name.padEnd(16)} ${(pid ? `running (pid ${pid})` : 'stopped').padEnd(22)} ${ready}`);
  }
}

async function logs(service: string | undefined): Promise<void> {
  const lines = Number(values.lines);
  const state = await readLabState();
  if (state?.mode === 'compose') return compose(state, ['logs', `--tail=${lines}`, ...(service ? [service] : [])]);
  const ours = (await localServiceStatus()).map(({ name, logFile }) => ({
    name,
    read: () => tailFile(logFile, lines),
  }));
  const stack = COMPONENTS.map((name) => ({ name, read: () => logTail(name, lines) }));
  const observability = OBSERVABILITY_COMPONENTS.map((name) => ({
    name,
    read: () => tailFile(observabilityLogFile(name), lines),
  }));
  const all = [...stack, ...ours, ...observability];
  const chosen = all.filter(({ name }) => service === undefined || name === service);
  if (chosen.length === 0)
    throw new Error(`no service named ${service}; one of ${all.map(({ name }) => name).join(', ')}`);
  for (const { name, read } of chosen) say(`==> ${name} <==\n${(await read()) || '(empty)'}\n`);
}

const [command, argument] = positionals;
try {
  if (values.help || command === undefined) {
    say(USAGE);
  } else if (command === 'up') {
    await up();
  } else if (command === 'down') {
    await down();
  } else if (command === 'ps') {
    await ps();
  } else if (command === 'logs') {
    await logs(argument);
  } else {
    throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
} catch (error) {
  console.error(`\nlab ${command ?? ''}: ${(error as Error).message}`);
  process.exitCode = 1;
}
