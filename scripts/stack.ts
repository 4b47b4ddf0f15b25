#!/usr/bin/env -S npx tsx
// The local stack from the command line: Kafka (with ZooKeeper, or in KRaft
// mode, as KAFKA_VERSION says) and Apicurio Registry from jars, no Docker. Progress goes to stderr and `up` prints only
// the export lines on stdout, so `eval "$(scripts/stack.ts up)"` works.
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import {
  COMPONENTS,
  LOCAL_BROKERS,
  LOCAL_REGISTRY_URL,
  LOG_FILES,
  StackError,
  logTail,
  stackDown,
  stackStatus,
  stackUp,
  startComponent,
  stopComponent,
  type ComponentName,
  type ComponentStatus,
} from './harness/local-stack.ts';
import { describeRelease } from './harness/kafka-release.ts';

const USAGE = `Usage: scripts/stack.ts <command>

  up                 start Kafka (and ZooKeeper in ZooKeeper mode) and the registry
                     (fetches the jars on first use); print the environment to export
  down [--clean]     stop them; --clean also wipes their data (topics, schemas)
  status             show each component; exits 1 unless all are up
  logs [component]   show the last lines of the logs
  stop <component>   stop one component
  start <component>  start one component (kafka needs zookeeper)

Components: ${COMPONENTS.join(', ')}. KAFKA_VERSION chooses the broker: 3.9.1
(the default, ZooKeeper mode) or a 4.x version such as 4.1.1 (KRaft mode, no
ZooKeeper). Set REGISTRY_JAVA to choose the Java 21+ the registry runs on.`;

const LOG_LINES = 100;

function componentArgument(value: string | undefined): ComponentName {
  const component = COMPONENTS.find((name) => name === value);
  if (!component)
    throw new StackError(`expected a component (${COMPONENTS.join(', ')}), got ${value ?? 'nothing'}\n\n${USAGE}`);
  return component;
}

function statusLine({ name, pid, answering, port, portInUse }: ComponentStatus): string {
  const state = pid !== undefined ? `running (pid ${pid})` : 'stopped';
  const health =
    pid === undefined && portInUse
      ? `another process holds 127.0.0.1:${port}`
      : `${answering ? 'answers' : 'does not answer'} on 127.0.0.1:${port}`;
  return `${name.padEnd(10)} ${state.padEnd(20)} ${health}`;
}

async function up(): Promise<void> {
  const { alreadyUp, release, brokers, registryUrl } = await stackUp();
  console.error(`The local stack ${alreadyUp ? 'is already up' : 'is up'}: ${describeRelease(release)}.`);
  console.log(`export KAFKA_VERSION=${release.version}`);
  console.log(`export KAFKA_BROKERS=${brokers}`);
  console.log(`export SCHEMA_REGISTRY_URL=${registryUrl}`);
}

async function status(): Promise<void> {
  const { release, components: statuses } = await stackStatus();
  console.log(`${describeRelease(release)}\n`);
  for (const component of statuses) console.log(statusLine(component));
  const allUp = statuses.every(({ pid, answering }) => pid !== undefined && answering);
  if (allUp) console.log(`\nKAFKA_BROKERS=${LOCAL_BROKERS} SCHEMA_REGISTRY_URL=${LOCAL_REGISTRY_URL}`);
  process.exitCode = allUp ? 0 : 1;
}

async function logs(component: ComponentName | undefined): Promise<void> {
  for (const name of component ? [component] : COMPONENTS) {
    console.log(`==> ${relative(process.cwd(), LOG_FILES[name])} <==`);
    console.log((await logTail(name, LOG_LINES)) || '(empty)');
  }
}

async function start(component: ComponentName): Promise<void> {
  const { pid, alreadyRunning } = await startComponent(component);
  if (alreadyRunning) console.error(`${component} is already running (pid ${pid}).`);
}

async function stop(component: ComponentName): Promise<void> {
  if (!(await stopComponent(component))) console.error(`${component} is not running.`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      clean: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  const [command, argument, ...extra] = positionals;
  if (values.help) return console.log(USAGE);
  const takesComponent = command === 'logs' || command === 'stop' || command === 'start';
  const unexpected = takesComponent ? extra : positionals.slice(1);
  if (unexpected.length > 0) throw new StackError(`unexpected argument: ${unexpected.join(' ')}\n\n${USAGE}`);
  if (values.clean && command !== 'down') throw new StackError(`--clean goes with down only\n\n${USAGE}`);
  switch (command) {
    case 'up':
      return up();
    case 'down':
      return stackDown({ clean: values.clean });
    case 'status':
      return status();
    case 'logs':
      return logs(argument === undefined ? undefined : componentArgument(argument));
    case 'stop':
      return stop(componentArgument(argument));
    case 'start':
      return start(componentArgument(argument));
    default:
      throw new StackError(command ? `unknown command: ${command}\n\n${USAGE}` : USAGE);
  }
}

/** Errors whose message says what to do; anything else is a bug worth its stack trace. */
function isUserError(error: unknown): error is Error {
  return error instanceof StackError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
}

try {
  await main();
} catch (error) {
  console.error(isUserError(error) ? `stack: ${error.message}` : error);
  process.exitCode = 1;
}
