// A benchmark's own corner of the shared broker and registry: topics with a
// unique prefix (created by topic-init, deleted afterwards), the real service
// entrypoints as child processes (optionally CPU-profiled, optionally on
// another kafkajs), Kafka's Java perf tools, and the committed offsets that
// tell when a consumer group has finished.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { loadConfig, serviceSpecs, type ServiceConfig } from '../../services/lib/config.ts';
import { createLogger } from '../../services/lib/logger.ts';
import type { StatsView } from '../../services/lib/order-stats.ts';
import { nodeOptionsOf } from '../harness/compose-file.ts';
import { Lab, ServiceProcess } from '../harness/lab.ts';
import { labTopicEnv } from '../harness/lab-topics.ts';
import { kafkaLogging } from '../harness/kafka-release.ts';
import { kafkaClasspath, stackRelease } from '../harness/local-stack.ts';
import { perSecond } from './measure.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD_HOOKS = fileURLToPath(new URL('./child-hooks.ts', import.meta.url));
/** Linux reports process CPU time in clock ticks; 100 per second on every mainstream kernel. */
const CLOCK_TICKS_PER_SECOND = 100;
/** Kafka's own perf-test scripts run the tools with this heap. */
const JAVA_TOOL_HEAP = '-Xmx512M';

/** What every benchmark of one run shares. */
export interface BenchEnvironment {
  brokers: string[];
  registryUrl: string;
  /** Logs, profiles and scratch files of this run. */
  workDir: string;
  /** Adds --cpu-prof to the Node services the benchmarks start. */
  profile: boolean;
  say(line: string): void;
}

export interface NodeOptions {
  env?: Record<string, string>;
  args?: string[];
  /** A kafkajs package directory to load instead of the project's (child-hooks.ts). */
  kafkajsDir?: string;
  /** Names the log file and, when profiling, the profile directory. */
  label: string;
}

/** For the benchmarks' own Kafka clients: their warnings (partitioner, idempotent retries) are noise here. */
export const logger = createLogger('bench', 'error');

/** A command line as someone would type it from the repository root. */
export function commandLine(command: string, args: readonly string[], env: Record<string, string> = {}): string {
  const quote = (word: string) => (/^[\w@%+=:,./*-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);
  // Paths in the repository, also within a word (-Dlog4j.configuration=file:...), relative to it.
  const inRepo = (word: string) =>
    word.startsWith(REPO_ROOT) ? relative(REPO_ROOT, word) : word.replaceAll(REPO_ROOT, '');
  const shown = [command === process.execPath ? 'node' : command, ...args].map((word) => quote(inRepo(word)));
  return [...Object.entries(env).map(([name, value]) => `${name}=${quote(inRepo(value))}`), ...shown].join(' ');
}

export interface ChildUsage {
  kafkajs: string | undefined;
  cpuUserMs: number;
  cpuSystemMs: number;
}

/** Every child still running, so an interrupted run can stop them (see stopAllChildren). */
const running = new Set<ChildProcess>();

/**
 * Sends SIGTERM to every service a benchmark started that still runs; resolves when they have exited, or at the
 * deadline.
 */
export async function stopAllChildren(timeoutMs: number): Promise<void> {
  const exits = [...running].map((child) => new Promise((resolve) => child.once('close', resolve)));
  for (const child of running) child.kill('SIGTERM');
  await Promise.race([Promise.all(exits), sleep(timeoutMs)]);
}

/**
 * A Node service started by a benchmark: the harness's ServiceProcess (its
 * output in a log file here), with what a benchmark measures of it.
 */
export class BenchService extends ServiceProcess {
  constructor(
    child: ChildProcess,
    logFile: string,
    readonly profileDir: string | undefined,
    command: string,
  ) {
    super(child, { logFile, command });
    running.add(child);
    void this.exited.then(() => running.delete(child));
  }

  /** Resident memory of the process now, in MB (Linux /proc). */
  async residentMb(): Promise<number> {
    const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) / 1024;
  }

  /** User + system CPU time the process has used so far, in ms (Linux /proc). */
  async cpuMs(): Promise<number> {
    const stat = await readFile(`/proc/${this.child.pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  }

  /** What child-hooks.ts wrote at exit: the kafkajs loaded and the CPU used. */
  usage(): ChildUsage | undefined {
    return this.logs(/^bench-usage$/)[0] as ChildUsage | undefined;
  }

  /** The .cpuprofile files the process wrote (after it exited). */
  async profiles(): Promise<string[]> {
    if (this.profileDir === undefined) return [];
    const names = await readdir(this.profileDir).catch(() => [] as string[]);
    return names.filter((name) => name.endsWith('.cpuprofile')).map((name) => join(this.profileDir!, name));
  }
}

export interface ProduceResult {
  sent: number;
  ratePerSecond: number;
  cpuMs: number;
  command: string;
  child: BenchService;
}

/** The line scripts/bench/kafkajs-floor.ts prints. */
export interface FloorFigures {
  records: number;
  /** From the first send or batch received to the last acknowledgement, batch or commit. */
  ms: number;
  /** The process's CPU time (all threads) over `ms`. */
  cpuMs: number;
  /** produce: the value bytes sent. */
  valueBytes?: number;
  /** transact: transactions committed. */
  transactions?: number;
}

export interface PipelineRun extends DrainResult {
  child: BenchService;
  /** Orders per second from joining the group until the orders topic was committed to its end. */
  rate: number;
  /** CPU the consumer used while idle (caught up, no new records) for idleMs, when asked. */
  idleCpuMs?: number;
  profile?: string;
}

export interface DrainResult {
  /** When the consumer joined its group (epoch ms, from its log line). */
  joinedAt: number;
  /** When the group had committed every record of the orders topic. */
  ordersDoneAt: number;
  /** When, in addition, the retry topics were committed to their end. */
  allDoneAt: number;
  /** CPU time the consumer used from its start to allDoneAt. */
  cpuMs: number;
}

/**
 * The harness's Lab for a benchmark: its services' output goes to log files
 * (and CPU profiles with --profile), the producer and consumer are timed, and
 * its topics and groups are deleted when it stops.
 */
export class BenchLab extends Lab {
  /** Extra topics a benchmark created itself (deleted with the rest). */
  private readonly extraTopics: string[] = [];
  /** The lab's topic-init settings: its variables over the defaults (partitions, retries). */
  readonly topicConfig: ServiceConfig<'topic-init'>;

  constructor(
    readonly bench: BenchEnvironment,
    readonly name: string,
    /** Service variables every child of this lab gets (RETRY_MODE, MAX_RETRIES, ...). */
    settings: Record<string, string> = {},
  ) {
    super(settings, `bench-${name}`);
    this.topicConfig = loadConfig(serviceSpecs['topic-init'], { ...this.connection, ...this.serviceEnv });
  }

  /** The topics and group as service variables, the DLQ service's archive, plus the lab's settings. */
  get serviceEnv(): Record<string, string> {
    return { ...labTopicEnv(this.names), DLQ_DB_PATH: this.dlqArchive, ...this.settings };
  }

  /** Partitions of the lab's orders (and DLQ) topic. */
  get partitions(): number {
    return this.topicConfig.ORDERS_PARTITIONS;
  }

  private get connection(): Record<string, string> {
    return { KAFKA_BROKERS: this.bench.brokers.join(','), SCHEMA_REGISTRY_URL: this.bench.registryUrl };
  }

  async createTopic(topic: string, numPartitions: number): Promise<void> {
    await this.admin.createTopics({
      topics: [{ topic, numPartitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    this.extraTopics.push(topic);
  }

  /** Stops every child gracefully first (a profiled service writes its profile on SIGTERM). */
  override async stop(): Promise<void> {
    await Promise.all(this.processes.map((child) => child.stop()));
    await super.stop();
  }

  /** A benchmark leaves nothing behind: its topics and its groups' committed offsets are deleted. */
  protected override async cleanUp(admin: Admin): Promise<void> {
    const topics = [...Object.values(this.topics), ...this.retryTopics(), ...this.extraTopics];
    const present = new Set(await admin.listTopics());
    await admin.deleteTopics({ topics: topics.filter((topic) => present.has(topic)) }).catch((error: Error) => {
      this.bench.say(`could not delete the topics of ${this.prefix}: ${error.message}`);
    });
    // Every group of the lab starts with its prefix.
    const { groups } = await admin.listGroups();
    const mine = groups.map((g) => g.groupId).filter((id) => id.startsWith(this.prefix));
    if (mine.length > 0) await admin.deleteGroups(mine).catch(() => undefined);
  }

  /**
   * Starts a Node entrypoint (relative to the repository root) with
   * compose.yaml's NODE_OPTIONS for it and the lab's variables.
   */
  async spawnNode(entrypoint: string, options: NodeOptions): Promise<BenchService> {
    const logDir = join(this.bench.workDir, 'logs');
    await mkdir(logDir, { recursive: true });
    const profileDir = this.bench.profile
      ? join(this.bench.workDir, 'profiles', `${this.name}-${options.label}`)
      : undefined;
    const nodeArgs = [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      '--import',
      'tsx',
      '--import',
      CHILD_HOOKS,
    ];
    const args = [...nodeArgs, join(REPO_ROOT, entrypoint), ...(options.args ?? [])];
    const variables = {
      ...nodeOptionsOf(entrypoint),
      ...this.serviceEnv,
      HTTP_PORT: '0',
      ...options.env,
      ...(options.kafkajsDir ? { BENCH_KAFKAJS_DIR: options.kafkajsDir } : {}),
    };
    const command = commandLine(process.execPath, args, variables);
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, ...this.connection, ...variables },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new BenchService(child, join(logDir, `${this.prefix}-${options.label}.log`), profileDir, command);
    this.processes.push(service);
    return service;
  }

  /** Runs the real producer (services/producer/main.ts) to the end; its own log says how long sending took. */
  async produceTimed(
    flags: Record<string, string | number>,
    options: Omit<NodeOptions, 'args'>,
  ): Promise<ProduceResult> {
    const args = Object.entries({ interval: 0, ...flags }).flatMap(([flag, value]) => [`--${flag}`, String(value)]);
    const child = await this.spawnNode('services/producer/main.ts', { ...options, args });
    const { code } = await child.exited;
    const [done] = child.logs(/^done$/);
    if (code !== 0 || done === undefined) throw new Error(`the producer failed (exit ${code}); see ${child.logFile}`);
    const usage = child.usage();
    return {
      sent: Number(done.sent),
      ratePerSecond: Number(done.sent) / Number(done.seconds),
      cpuMs: usage ? usage.cpuUserMs + usage.cpuSystemMs : Number.NaN,
      command: child.command,
      child,
    };
  }

  /** kafkajs alone on the lab's orders topic, with the services' client settings (scripts/bench/kafkajs-floor.ts). */
  async kafkajsFloor(
    mode: 'produce' | 'consume',
    records: number,
    options: { label: string; group?: string },
  ): Promise<{ rate: number; command: string }> {
    const { figures, command } = await this.floor(mode, records, options);
    return { rate: perSecond(figures.records, figures.ms), command };
  }

  /**
   * Runs scripts/bench/kafkajs-floor.ts in its own process, on the lab's orders topic unless `topic` says otherwise,
   * and returns the figures it printed.
   */
  async floor(
    mode: 'produce' | 'consume' | 'transact',
    records: number,
    options: { label: string; group?: string; topic?: string; args?: string[] },
  ): Promise<{ figures: FloorFigures; command: string }> {
    const args = [
      '--mode',
      mode,
      '--topic',
      options.topic ?? this.topics.orders,
      '--records',
      String(records),
      ...(options.group ? ['--group', options.group] : []),
      ...(options.args ?? []),
    ];
    const child = await this.spawnNode('scripts/bench/kafkajs-floor.ts', { label: options.label, args });
    const { code } = await child.exited;
    const [line] = child.logs(/^floor$/);
    if (code !== 0 || line === undefined)
      throw new Error(`kafkajs-floor.ts --mode ${mode} failed (exit ${code}); see ${child.logFile}`);
    return { figures: line as unknown as FloorFigures, command: child.command };
  }

  /** Records in a topic (end minus start offsets, all partitions). */
  async recordCount(topic: string): Promise<number> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
  }

  /** Starts `processes` real consumers (services/consumer/main.ts) in `group`; labels end in -1, -2, ... if several. */
  startConsumers(group: string, processes: number, options: Omit<NodeOptions, 'args'>): Promise<BenchService[]> {
    return Promise.all(
      Array.from({ length: processes }, (_, i) =>
        this.spawnNode('services/consumer/main.ts', {
          ...options,
          label: processes === 1 ? options.label : `${options.label}-${i + 1}`,
          env: { CONSUMER_GROUP: group, ...options.env },
        }),
      ),
    );
  }

  /**
   * Times consumers of `group` from the first "joined the consumer group"
   * until the group has committed the orders topic (and then the retry
   * topics) to the end. Polls the committed offsets every 50 ms, which bounds
   * the timing error; fails as soon as a consumer exits.
   */
  async timeDrain(children: BenchService[], group: string, timeoutMs: number): Promise<DrainResult> {
    const joined = await Promise.all(children.map((child) => child.waitForLog(/joined the consumer group/, 60_000)));
    const joinedAt = Math.min(...joined.map((line) => Number(line.time)));
    const deadline = Date.now() + timeoutMs;
    const until = async (what: string, done: () => Promise<boolean>) => {
      for (;;) {
        if (await done()) return Date.now();
        const exited = children.find((child) => child.child.exitCode !== null);
        if (exited)
          throw new Error(`a consumer exited (${exited.child.exitCode}) while ${what}; see ${exited.logFile}`);
        if (Date.now() > deadline) {
          throw new Error(`the consumers did not finish ${what} within ${timeoutMs} ms; see ${children[0]?.logFile}`);
        }
        await sleep(50);
      }
    };
    const ordersDoneAt = await until('the orders topic', () => this.caughtUp(this.topics.orders, 0, group));
    const allDoneAt = await until('the retry topics', () => this.retryTopicsCaughtUp(group));
    const cpuMs = (await Promise.all(children.map((child) => child.cpuMs()))).reduce((a, b) => a + b, 0);
    return { joinedAt, ordersDoneAt, allDoneAt, cpuMs };
  }

  /** One real consumer in `group`, timed as timeDrain() says. */
  async drain(
    options: Omit<NodeOptions, 'args'> & { group: string; timeoutMs: number },
  ): Promise<DrainResult & { child: BenchService }> {
    const [child] = await this.startConsumers(options.group, 1, options);
    return { ...(await this.timeDrain([child!], options.group, options.timeoutMs)), child: child! };
  }

  /**
   * Runs the real consumer over the lab's orders topic in a fresh group
   * (see drain) and checks it counted every order and dead-lettered none.
   */
  async runPipeline(
    records: number,
    options: { label: string; env?: Record<string, string>; kafkajsDir?: string; idleMs?: number; timeoutMs?: number },
  ): Promise<PipelineRun> {
    const group = `${this.group}-${options.label}`;
    const drained = await this.drain({ ...options, group, timeoutMs: options.timeoutMs ?? 30 * 60_000 });
    let idleCpuMs: number | undefined;
    if (options.idleMs !== undefined) {
      // A measurement, not a wait: the CPU an idle, caught-up consumer uses over idleMs.
      const before = await drained.child.cpuMs();
      await sleep(options.idleMs);
      idleCpuMs = (await drained.child.cpuMs()) - before;
    }
    await drained.child.stop();
    const counted = (await this.aggregate(group, records)).count;
    const deadLetters = await this.recordCount(this.topics.dlq);
    if (counted !== records || deadLetters !== 0) {
      throw new Error(
        `the consumer counted ${counted} of ${records} orders and dead-lettered ${deadLetters}; see ` +
          `${drained.child.logFile}`,
      );
    }
    const [profile] = await drained.child.profiles();
    return { ...drained, rate: perSecond(records, drained.ordersDoneAt - drained.joinedAt), idleCpuMs, profile };
  }

  /** The aggregate of `group` once it counts `expectedCount` orders (or what it holds after `timeoutMs`). */
  async aggregate(group: string, expectedCount: number, timeoutMs = 30_000): Promise<StatsView> {
    const deadline = Date.now() + timeoutMs;
    while (this.stats(group).count < expectedCount && Date.now() < deadline) await sleep(100);
    return this.stats(group);
  }
}

/** Runs one of Kafka's Java tools (kafka-tools of the local stack's release) and returns its stdout. */
export async function runJavaTool(
  env: BenchEnvironment,
  mainClass: string,
  args: string[],
): Promise<{ stdout: string; command: string }> {
  const release = await stackRelease();
  // Warnings only, on stderr: stdout is left to the tool's figures.
  const logging = kafkaLogging(release, join(env.workDir, 'kafka-tool-logging.properties'), {
    level: 'WARN',
    target: 'stderr',
  });
  await writeFile(logging.file, logging.text);
  const javaArgs = [JAVA_TOOL_HEAP, logging.jvmArg, '-cp', kafkaClasspath(release), mainClass, ...args];
  const command = commandLine('java', javaArgs);
  const child = spawn('java', javaArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`${mainClass} exited with ${code}:\n${stderr.slice(-2000)}${stdout.slice(-2000)}`);
  return { stdout, command };
}
