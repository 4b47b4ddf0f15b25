// A lab per test, scenario or benchmark (scripts/bench/lab.ts's BenchLab
// extends it): its own topics (unique prefix) on the real broker and registry,
// the real producer and consumer entrypoints as child processes, and readers
// for what they leave in Kafka (DLQ records, order stats, offsets).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Admin, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { loadConfig, serviceSpecs } from '../../services/lib/config.ts';
import { createKafka, KEYED_PARTITIONER } from '../../services/lib/kafka.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { combineStats, countOrders, emptyTotals, type StatsView } from '../../services/lib/order-stats.ts';
import { Serde } from '../../services/lib/serde.ts';
import { StatsReader } from '../../services/lib/stats-reader.ts';
import { TopicFollower } from '../../services/lib/topic-follower.ts';
import { retryTopicName } from '../../services/lib/topics.ts';
import type { GroundTruth } from '../../services/producer/producer.ts';
import { runTopicInit } from '../../services/topic-init/init.ts';
import { caughtUp } from './group-progress.ts';
import { labTopicEnv, labTopics, uniqueName, type LabTopics } from './lab-topics.ts';
import { infrastructure, type Infrastructure } from './infrastructure.ts';
import { nodeOptionsOf } from './compose-file.ts';

const logger = createLogger('test', 'warn');

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs` saying what it waited
 * for.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A service (or script) run as a child process: its output kept (and, with
 * `logFile`, written there as it comes), its pino lines parsed as they
 * complete, from stdout and stderr alike.
 */
export class ServiceProcess {
  /** stdout and stderr as they came, for a failure message. */
  output = '';
  /** stdout alone: the log lines (and a script's result), never cut by a write to stderr. */
  stdout = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The command line, for messages (empty when not given). */
  readonly command: string;
  readonly logFile: string | undefined;
  private readonly logLines: Record<string, unknown>[] = [];

  constructor(
    readonly child: ChildProcess,
    options: { command?: string; logFile?: string } = {},
  ) {
    this.command = options.command ?? '';
    this.logFile = options.logFile;
    const file = this.logFile === undefined ? undefined : createWriteStream(this.logFile);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      // Decoded as a stream: a character split between two chunks stays whole.
      stream.setEncoding('utf8');
      let partial = '';
      stream.on('data', (chunk: string) => {
        this.output += chunk;
        if (stream === child.stdout) this.stdout += chunk;
        file?.write(chunk);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.keep(line);
      });
    }
    // 'close', not 'exit': the process may exit before its last output has
    // been read (a producer's ground truth is one line of hundreds of KB).
    this.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        if (file === undefined) resolve({ code, signal });
        else file.end(() => resolve({ code, signal }));
      }),
    );
  }

  private keep(line: string): void {
    if (!line.startsWith('{')) return;
    try {
      this.logLines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not a pino line.
    }
  }

  /** Log lines (pino JSON, complete ones) whose msg matches. */
  logs(msg: RegExp): Record<string, unknown>[] {
    return this.logLines.filter((entry) => msg.test(String(entry.msg)));
  }

  /** The first log line whose msg matches, once there is one; fails as soon as the process exits without it. */
  async waitForLog(msg: RegExp, timeoutMs: number): Promise<Record<string, unknown>> {
    const name = this.command || 'the process';
    const where = this.logFile === undefined ? '' : `; see ${this.logFile}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [found] = this.logs(msg);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null)
        throw new Error(`${name} exited with ${this.child.exitCode} before logging ${msg}${where}`);
      if (Date.now() > deadline) throw new Error(`${name} did not log ${msg} within ${timeoutMs} ms${where}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** For a wait that failed: throws its error again with the end of the service's output, to see why. */
  readonly rethrowWithOutput = (error: unknown): never => {
    throw new Error(`${(error as Error).message}\nservice output:\n${this.output.slice(-4000)}`);
  };

  /** One metric of the service's /metrics, its samples summed over their labels. */
  async metric(name: string): Promise<number> {
    return (await this.get('/metrics')).text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  /** The /health and /metrics port the service logged when it started. */
  httpPort(): Promise<number> {
    return waitUntil(
      'the service to log its HTTP port',
      () => this.logs(/started/).find((entry) => entry.httpPort)?.httpPort as number | undefined,
    );
  }

  /** GET on the service's HTTP port: status and body text. */
  async get(path: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`http://127.0.0.1:${await this.httpPort()}${path}`);
    return { status: response.status, text: await response.text() };
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }

  /** SIGTERM (a service stops gracefully), SIGKILL after a deadline; resolves once it has exited. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface DeadLetter {
  partition: number;
  offset: string;
  key: string;
  value: Buffer | null;
  headers: Record<string, string>;
}

export class Lab {
  protected readonly names: LabTopics;
  readonly prefix: string;
  readonly group: string;
  readonly topics: LabTopics['topics'];
  private kafka!: Kafka;
  private producer: Producer | undefined;
  private serde: Serde | undefined;
  /** The order schema's id, as topic-init registered it. */
  schemaId!: number;
  admin!: Admin;
  infra!: Infrastructure;
  private statsReader!: StatsReader;
  protected readonly processes: ServiceProcess[] = [];

  /** `settings`: service variables every process of the lab gets; `kind`: its names' prefix (it-, bench-...). */
  constructor(
    readonly settings: Record<string, string> = {},
    kind = 'it-lab',
  ) {
    this.names = labTopics(uniqueName(kind));
    ({ prefix: this.prefix, group: this.group, topics: this.topics } = this.names);
  }

  get env(): Record<string, string> {
    return {
      KAFKA_BROKERS: this.infra.brokers.join(','),
      SCHEMA_REGISTRY_URL: this.infra.registryUrl,
      ...labTopicEnv(this.names),
      HTTP_PORT: '0',
      DLQ_DB_PATH: this.dlqArchive,
      ...this.settings,
    };
  }

  /**
   * The DLQ service's archive for this lab: a temporary file. Every file
   * whose name starts with it (another instance's `${dlqArchive}.2`, SQLite's
   * -wal and -shm) is removed when the lab stops.
   */
  get dlqArchive(): string {
    return join(tmpdir(), `${this.prefix}-dlq-archive.sqlite`);
  }

  async start(): Promise<void> {
    this.infra = await infrastructure();
    ({ schemaId: this.schemaId } = await runTopicInit(loadConfig(serviceSpecs['topic-init'], this.env), logger));
    this.kafka = createKafka({ brokers: this.infra.brokers, clientId: `test-${this.prefix}`, logger });
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.statsReader = new StatsReader(this.kafka, this.admin, this.topics.stats, logger);
    await this.statsReader.start();
  }

  async stop(): Promise<void> {
    for (const process of this.processes) process.kill();
    await Promise.all(this.processes.map((p) => p.exited));
    await this.statsReader?.stop();
    await this.producer?.disconnect();
    if (this.admin !== undefined) await this.cleanUp(this.admin);
    await this.admin?.disconnect();
    const archive = basename(this.dlqArchive);
    const files = (await readdir(tmpdir())).filter((name) => name.startsWith(archive));
    await Promise.all(files.map((name) => rm(join(tmpdir(), name), { force: true })));
  }

  /** What a lab leaves behind on the broker when it stops: its topics and groups stay (a failed test's evidence). */
  protected async cleanUp(_admin: Admin): Promise<void> {}

  /** Starts a service as the lab runs it: compose.yaml's NODE_OPTIONS for it, the lab's variables, then `env`. */
  spawn(entrypoint: string, env: Record<string, string> = {}, args: string[] = []): ServiceProcess {
    return this.spawnCommand(process.execPath, ['--import', 'tsx', entrypoint, ...args], {
      PATH: process.env.PATH ?? '',
      ...nodeOptionsOf(entrypoint),
      ...this.env,
      ...env,
    });
  }

  /** Any command (Prometheus, for one) as a process of the lab: its output kept, killed when the lab stops. */
  spawnCommand(command: string, args: string[], env: Record<string, string> = { PATH: process.env.PATH ?? '' }) {
    const service = new ServiceProcess(spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    this.processes.push(service);
    return service;
  }

  /** Runs the producer to the end and returns its ground truth (--json). */
  async produce(flags: Record<string, string | number>): Promise<GroundTruth> {
    const args = Object.entries({ interval: 0, seed: Math.floor(Math.random() * 1e9), ...flags }).flatMap(
      ([flag, value]) => [`--${flag}`, String(value)],
    );
    const producer = this.spawn('services/producer/main.ts', {}, [...args, '--json']);
    const { code } = await producer.exited;
    if (code !== 0) throw new Error(`producer exited with ${code}:\n${producer.output}`);
    return JSON.parse(producer.stdout) as GroundTruth;
  }

  /**
   * Writes records as any client could (acks=all), for inputs the demo
   * producer does not make: odd headers, odd sizes, odd product names.
   */
  async send(topic: string, messages: Message[]): Promise<void> {
    if (this.producer === undefined) {
      this.producer = this.kafka.producer({ ...KEYED_PARTITIONER, idempotent: true });
      await this.producer.connect();
    }
    await this.producer.send({ topic, acks: -1, messages });
  }

  /** An order in the wire format the consumer reads (registry-framed Avro). */
  encode(order: Record<string, unknown>): Promise<Buffer> {
    this.serde ??= new Serde(this.infra.registryUrl);
    return this.serde.encode(this.schemaId, order);
  }

  startConsumer(env: Record<string, string> = {}): ServiceProcess {
    return this.spawn('services/consumer/main.ts', { FAULT_INJECTION: 'true', ...env });
  }

  /**
   * Runs `body` with the lab's order-stats reader stopped (its last view
   * stays readable) and starts a fresh one after. For faults that take the
   * broker away: kafkajs sends a consumer's LeaveGroup, on disconnect after a
   * broker restart, on a connection its client no longer tracks, and that
   * socket would keep the test process alive.
   */
  async withStatsReaderStopped<T>(body: () => Promise<T>): Promise<T> {
    await this.statsReader.stop();
    try {
      return await body();
    } finally {
      // A broker that has just started answers before it serves its partitions again.
      await waitUntil(
        'the broker to serve the order-stats topic',
        async () => (await this.admin.fetchTopicOffsets(this.topics.stats)).length > 0,
      );
      this.statsReader = new StatsReader(this.kafka, this.admin, this.topics.stats, logger);
      await this.statsReader.start();
    }
  }

  /** The aggregate of the lab's group (or of another group on the lab's topics). */
  stats(group = this.group): StatsView {
    return this.statsReader.view(group);
  }

  /** All committed DLQ records, read from the beginning with a throwaway group. */
  async deadLetters(): Promise<DeadLetter[]> {
    return (await this.readAll(this.topics.dlq)).map(({ partition, message }) => ({
      partition,
      offset: message.offset,
      key: message.key?.toString() ?? '',
      value: message.value,
      headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)])),
    }));
  }

  /** Every record of a topic up to its current end (read_committed). */
  async readAll(topic: string): Promise<{ partition: number; message: KafkaMessage }[]> {
    const records: { partition: number; message: KafkaMessage }[] = [];
    const collect = async ({ batch }: EachBatchPayload) => {
      for (const message of batch.messages) records.push({ partition: batch.partition, message });
    };
    const follower = new TopicFollower(this.kafka, this.admin, topic, `${this.prefix}-reader`, collect, logger);
    await follower.start();
    try {
      await follower.waitUntilCaughtUp(30_000);
    } finally {
      await follower.stop();
    }
    return records;
  }

  /** The lab's group's committed offset of one partition of `topic` (-1 when it has none). */
  async committedOffset(partition: number, topic = this.topics.orders): Promise<bigint> {
    const [entry] = await this.admin.fetchOffsets({ groupId: this.group, topics: [topic] });
    return BigInt(entry?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
  }

  /** True once the lab's group has committed every partition of `topic` to its end (see group-progress.ts). */
  caughtUp(topic: string, markerSlack: 0 | 1 = 0, group = this.group): Promise<boolean> {
    return caughtUp(this.admin, group, topic, markerSlack);
  }

  /** True once `group` has committed every retry topic to its end (each ends in a commit marker). */
  async retryTopicsCaughtUp(group = this.group): Promise<boolean> {
    for (const topic of this.retryTopics()) if (!(await this.caughtUp(topic, 1, group))) return false;
    return true;
  }

  retryTopics(): string[] {
    return Array.from({ length: Number(this.env.MAX_RETRIES ?? 3) }, (_, i) =>
      retryTopicName(this.topics.orders, i + 1),
    );
  }

  /**
   * The consumer has committed everything there is on the orders and retry
   * topics. `ordersMarkerSlack` is 1 once something wrote to the orders topic
   * in a transaction (a DLQ replay): it then ends in a commit marker too.
   */
  async drained(ordersMarkerSlack: 0 | 1 = 0): Promise<boolean> {
    return (await this.caughtUp(this.topics.orders, ordersMarkerSlack)) && this.retryTopicsCaughtUp();
  }
}

/** The aggregate the consumer must reach: every order that should be processed, counted once. */
export function expectedStats(truths: GroundTruth[], maxRetries: number): StatsView {
  const orders = truths.flatMap((truth) =>
    truth.orders.filter((o) => o.category === 'valid' || truth.failTimes <= maxRetries),
  );
  const { totals, products } = countOrders(emptyTotals('', '', 0), new Map(), orders, '0');
  return combineStats([totals], products);
}
