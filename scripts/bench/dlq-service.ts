// 6. DLQ service: how long its archive takes to build from a DLQ of N
// records (a first start: no archive file yet) and to restart on it, the
// latency of a list, a filtered list, a text query and the stats under a
// fixed request rate (autocannon, corrected for coordinated omission), and
// the resident memory, with the real service (services/dlq-service/main.ts)
// as its own process; side by side with the service as it was when it kept
// its index in memory.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import type { Message } from 'kafkajs';
import { deadLetterHeaders, type FailureClass } from '../../services/lib/dlq.ts';
import { TransientError, UndecodableError, ValidationError } from '../../services/lib/errors.ts';
import { createKafka, PRODUCER_SETTINGS } from '../../services/lib/kafka.ts';
import { Serde } from '../../services/lib/serde.ts';
import { OrderFactory } from '../../services/producer/orders.ts';
import { freePort } from '../harness/free-port.ts';
import { answersOk } from '../harness/http-probe.ts';
import { BenchLab, logger, type BenchEnvironment, type BenchService } from './lab.ts';
import { formatCount, formatNumber } from './measure.ts';
import { summarizeProfile } from './profile.ts';
import { section, type Section } from './report.ts';

export const DLQ_TARGET_P99_MS = 20;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const execFileAsync = promisify(execFile);
const SEND_BATCH = 1000;
const CONNECTIONS = 10;

export interface DlqOptions {
  records: number;
  seconds: number;
  ratePerSecond: number;
}

/**
 * Writes `records` dead letters as the consumer writes them (original key and
 * value bytes, deadLetterHeaders): 60 % invalid orders, 20 % transient
 * failures past their retries, 20 % undecodable values, dead-lettered over
 * the last two hours.
 */
async function fillDlq(lab: BenchLab, env: BenchEnvironment, schemaId: number, records: number): Promise<string> {
  const kafka = createKafka({ brokers: env.brokers, clientId: 'bench-dlq-fill', logger });
  const producer = kafka.producer(PRODUCER_SETTINGS);
  const serde = new Serde(env.registryUrl);
  const factory = new OrderFactory(13);
  const firstFailure = Date.now() - 2 * 3600_000;
  let someOrderId = '';
  await producer.connect();
  try {
    for (let start = 0; start < records; start += SEND_BATCH) {
      const messages: Message[] = [];
      for (let i = start; i < Math.min(records, start + SEND_BATCH); i += 1) {
        const order = factory.order();
        if (i === Math.floor(records / 2)) someOrderId = order.orderId;
        const partition = i % lab.partitions;
        let failureClass: FailureClass;
        let error: Error;
        let value: Buffer;
        let attempts = 1;
        if (i % 10 < 6) {
          failureClass = 'invalid';
          error = new ValidationError(`price ${-order.price} is not positive`);
          value = await serde.encode(schemaId, { ...order, price: -order.price });
        } else if (i % 10 < 8) {
          failureClass = 'retries-exhausted';
          attempts = 4;
          error = new TransientError(
            `downstream timed out for order ${order.orderId} (injected fault, attempt 4 of 5 failing)`,
          );
          value = await serde.encode(schemaId, order);
        } else {
          failureClass = 'undecodable';
          value = Buffer.from(JSON.stringify(order));
          error = new UndecodableError('bad-magic-byte', `magic byte is ${value[0]}, expected 0`);
        }
        messages.push({
          key: order.orderId,
          value,
          partition,
          headers: deadLetterHeaders(undefined, {
            topic: lab.topics.orders,
            partition,
            offset: String(Math.floor(i / lab.partitions)),
            timestamp: String(firstFailure + i),
            consumerGroup: lab.group,
            failureClass,
            attempts,
            error,
            failedAt: new Date(firstFailure + Math.floor((i * 2 * 3600_000) / records)),
          }),
        });
      }
      await producer.send({ topic: lab.topics.dlq, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return someOrderId;
}

async function load(url: string, seconds: number, overallRate?: number): Promise<Result> {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    ...(overallRate === undefined ? {} : { overallRate }),
  });
}

/**
 * The last commit whose DLQ service kept its index in memory, rebuilt from the topic at each start: run from a
 * git worktree beside the archive, on the same DLQ, for the side-by-side figures.
 */
const IN_MEMORY_COMMIT = '26ec36e482160ab6c047068dddb94b489e282a64';
const IN_MEMORY_DIR = join(REPO_ROOT, '.cache/bench/dlq-in-memory');

/** The in-memory version's checkout (made once), or why there is none. */
async function inMemoryCheckout(): Promise<{ dir: string } | { why: string }> {
  try {
    if (!existsSync(join(IN_MEMORY_DIR, 'services/dlq-service/main.ts'))) {
      await execFileAsync('git', [
        '-C',
        REPO_ROOT,
        'worktree',
        'add',
        '--detach',
        '--force',
        IN_MEMORY_DIR,
        IN_MEMORY_COMMIT,
      ]);
    }
    // Its dependencies are a subset of today's.
    if (!existsSync(join(IN_MEMORY_DIR, 'node_modules')))
      await symlink(join(REPO_ROOT, 'node_modules'), join(IN_MEMORY_DIR, 'node_modules'));
    return { dir: IN_MEMORY_DIR };
  } catch (error) {
    return { why: `no checkout of ${IN_MEMORY_COMMIT.slice(0, 7)} (${(error as Error).message.split('\n')[0]})` };
  }
}

interface Implementation {
  name: string;
  entrypoint: string;
  /** The log line that says the DLQ was read to the end, with `records` and `ms`. */
  loaded: RegExp;
}

interface Measured {
  name: string;
  loaded: Record<string, unknown>;
  readyMs: number;
  residentMb: number;
  rows: (string | number)[][];
  fixed: Map<string, Result>;
  restartMs?: number;
  service: BenchService;
}

export async function benchDlqService(
  env: BenchEnvironment,
  options: DlqOptions & { compareInMemory?: boolean },
): Promise<Section> {
  const result = section(
    'dlq',
    `6. DLQ service: archive build, queries and memory with ${formatCount(options.records)} dead letters`,
    `${formatCount(options.records)} dead letters are written to a fresh DLQ topic as the consumer writes them ` +
      '(original bytes, context headers; 60 % invalid orders, 20 % retries exhausted, 20 % undecodable). The ' +
      'real service (`services/dlq-service/main.ts`, default settings and the NODE_OPTIONS compose.yaml gives it, ' +
      'a new archive file) starts on it; the ' +
      'build time is what it logs when its archive has read the DLQ to the end (from the start of its DLQ ' +
      'reader), and the time from process start until GET /ready answers 200. Then autocannon ' +
      `(${CONNECTIONS} connections, latencies corrected for coordinated omission) sends each request at a fixed ` +
      `${formatCount(options.ratePerSecond)}/s for ${options.seconds} s after a short warm-up, then as fast as ` +
      'it can: GET /dlq (first page, newest first, total of all records; the service keeps the 1,000 entries it ' +
      "read last deserialized, so this repeated page is a read of positions, as the dashboard's polling is), a " +
      'list filtered by class and product, ' +
      'a text query (q, an order id prefix) and GET /dlq/stats. Then the resident memory of the loaded service, ' +
      'and a restart on the archive it built (process start to GET /ready 200). The same, on the same DLQ, ' +
      `with the DLQ service of ${IN_MEMORY_COMMIT.slice(0, 7)}, which kept its index in memory and rebuilt it ` +
      "from the topic at each start, run as it was then (Node's default heap settings).",
  );
  const lab = new BenchLab(env, 'dlq');
  try {
    await lab.start();
    env.say(`dlq: writing ${formatCount(options.records)} dead letters`);
    const someOrderId = await fillDlq(lab, env, lab.schemaId, options.records);
    const cases = [
      { name: 'GET /dlq', path: '/dlq' },
      { name: 'GET /dlq?failureClass=invalid&product=laptop', path: '/dlq?failureClass=invalid&product=laptop' },
      { name: `GET /dlq?q=<order id prefix>`, path: `/dlq?q=${someOrderId.slice(0, 13)}` },
      { name: 'GET /dlq/stats', path: '/dlq/stats' },
    ];
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;

    const start = async (label: string, entrypoint: string, log: RegExp) => {
      const spawnedAt = Date.now();
      const service = await lab.spawnNode(entrypoint, {
        label,
        env: { HTTP_HOST: '127.0.0.1', HTTP_PORT: String(port) },
      });
      const line = await service.waitForLog(log, 30 * 60_000);
      while (!(await answersOk(`${base}/ready`))) {
        if (service.child.exitCode !== null)
          throw new Error(`the DLQ service exited (${service.child.exitCode}); see ${service.logFile}`);
        if (Date.now() - spawnedAt > 30 * 60_000) throw new Error('the DLQ service never became ready');
        await sleep(50);
      }
      return { service, line, readyMs: Date.now() - spawnedAt };
    };

    const measure = async (implementation: Implementation, restart: boolean): Promise<Measured> => {
      env.say(`dlq: ${implementation.name}: starting`);
      const { service, line, readyMs } = await start(
        implementation.name,
        implementation.entrypoint,
        implementation.loaded,
      );
      result.commands.push(service.command);
      if (Number(line.records) !== options.records)
        throw new Error(`${implementation.name} holds ${String(line.records)} records, expected ${options.records}`);
      const first = (await (await fetch(`${base}/dlq`)).json()) as { total: number };
      if (first.total !== options.records)
        throw new Error(`${implementation.name}: GET /dlq says total ${first.total}, expected ${options.records}`);
      const rows: (string | number)[][] = [];
      const fixed = new Map<string, Result>();
      for (const entry of cases) {
        await load(`${base}${entry.path}`, Math.min(3, options.seconds), options.ratePerSecond); // warm-up
        env.say(`dlq: ${implementation.name}: ${entry.name} at ${options.ratePerSecond}/s for ${options.seconds} s`);
        const atRate = await load(`${base}${entry.path}`, options.seconds, options.ratePerSecond);
        const unlimited = await load(`${base}${entry.path}`, Math.min(10, options.seconds));
        fixed.set(entry.name, atRate);
        rows.push([
          implementation.name,
          entry.name,
          formatCount(atRate.requests.average),
          formatNumber(atRate.latency.p50, 1),
          formatNumber(atRate.latency.p99, 1),
          formatNumber(atRate.latency.max, 1),
          `${atRate.errors + atRate.timeouts} / ${atRate.non2xx}`,
          formatCount(unlimited.requests.average),
          formatNumber(unlimited.latency.p99, 1),
        ]);
      }
      const residentMb = await service.residentMb();
      await service.stop();
      let restartMs: number | undefined;
      if (restart) {
        const again = await start(
          `${implementation.name}-restart`,
          implementation.entrypoint,
          /^DLQ archive: resuming$/,
        );
        restartMs = again.readyMs;
        await again.service.stop();
      }
      return { name: implementation.name, loaded: line, readyMs, residentMb, rows, fixed, restartMs, service };
    };

    const measured = [
      await measure(
        { name: 'archive', entrypoint: 'services/dlq-service/main.ts', loaded: /^DLQ archive up to date$/ },
        true,
      ),
    ];
    if (options.compareInMemory ?? true) {
      const checkout = await inMemoryCheckout();
      if ('why' in checkout) {
        result.notes.push(`The in-memory index was not measured: ${checkout.why}.`);
      } else {
        const entrypoint = relative(REPO_ROOT, join(checkout.dir, 'services/dlq-service/main.ts'));
        measured.push(await measure({ name: 'in-memory index', entrypoint, loaded: /^DLQ index built$/ }, false));
      }
    }

    const [archive] = measured as [Measured];
    const [profileFile] = await archive.service.profiles();
    if (env.profile && profileFile) {
      result.profiles.push(
        await summarizeProfile(
          profileFile,
          'the DLQ service (whole process: start-up, archive build and every load run)',
        ),
      );
    }
    result.tables.push({
      headers: [
        '',
        'read the DLQ to the end (service log)',
        'process start → /ready 200',
        'resident memory after the load',
        'restart → /ready 200',
      ],
      rows: measured.map((m) => [
        m.name,
        `${formatCount(Number(m.loaded.ms))} ms`,
        `${formatCount(m.readyMs)} ms`,
        `${formatCount(m.residentMb)} MB`,
        m.restartMs === undefined ? 'rebuilds, as at start' : `${formatCount(m.restartMs)} ms`,
      ]),
    });
    result.tables.push({
      headers: [
        '',
        'request',
        `req/s at ${formatCount(options.ratePerSecond)}/s`,
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors / non-2xx',
        'max req/s',
        'p99 ms at max',
      ],
      rows: measured.flatMap((m) => m.rows),
    });
    result.notes.push(
      'autocannon runs in the benchmark process, the service in its own; both share the machine with the broker.',
    );
    const p99 = (name: string, limitMs: number, figure: string) => {
      const run = archive.fixed.get(name)!;
      result.targets.push({
        figure:
          `${figure} p99, ${formatCount(options.ratePerSecond)} req/s offered, ` +
          `${formatCount(options.records)} records`,
        target: `< ${limitMs} ms`,
        measured:
          `${formatNumber(run.latency.p99, 1)} ms ` +
          `(p50 ${formatNumber(run.latency.p50, 1)}, ${formatCount(run.requests.average)} req/s)`,
        met: run.latency.p99 < limitMs && run.non2xx === 0 && run.errors === 0,
      });
    };
    p99('GET /dlq', DLQ_TARGET_P99_MS, 'DLQ list');
    p99(cases[2]!.name, 50, 'DLQ text query');
    p99('GET /dlq/stats', 50, 'DLQ stats');
    result.targets.push(
      {
        figure: `DLQ service resident memory, ${formatCount(options.records)} records`,
        target: '< 250 MB',
        measured: `${formatCount(archive.residentMb)} MB`,
        met: archive.residentMb < 250,
      },
      {
        figure: 'DLQ service restart to /ready with the archive present',
        target: '< 3 s',
        measured: `${formatCount(archive.restartMs!)} ms`,
        met: archive.restartMs! < 3000,
      },
      {
        figure: `DLQ archive full rebuild, ${formatCount(options.records)} records`,
        target: '< 90 s (for 1,000,000)',
        measured: `${formatNumber(Number(archive.loaded.ms) / 1000, 1)} s`,
        met: options.records >= 1_000_000 ? Number(archive.loaded.ms) < 90_000 : undefined,
      },
    );
    return result;
  } finally {
    await lab.stop();
  }
}
