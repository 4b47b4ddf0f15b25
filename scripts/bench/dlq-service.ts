// 6. DLQ service: how long its archive takes to build from a DLQ of N
// records (a first start: no archive file yet), and the list endpoint's latency under a fixed request rate
// (autocannon, corrected for coordinated omission), with the real service
// (services/dlq-service/main.ts) as its own process.
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import type { Message } from 'kafkajs';
import { deadLetterHeaders, type FailureClass } from '../../services/lib/dlq.ts';
import { TransientError, UndecodableError, ValidationError } from '../../services/lib/errors.ts';
import { createKafka, PRODUCER_SETTINGS } from '../../services/lib/kafka.ts';
import { Serde } from '../../services/lib/serde.ts';
import { OrderFactory } from '../../services/producer/orders.ts';
import { freePort } from '../harness/free-port.ts';
import { answersOk } from '../harness/http-probe.ts';
import { BenchLab, logger, type BenchEnvironment } from './lab.ts';
import { formatCount, formatNumber } from './measure.ts';
import { summarizeProfile } from './profile.ts';
import { section, type Section } from './report.ts';

export const DLQ_TARGET_P99_MS = 20;
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
async function fillDlq(lab: BenchLab, env: BenchEnvironment, schemaId: number, records: number): Promise<void> {
  const kafka = createKafka({ brokers: env.brokers, clientId: 'bench-dlq-fill', logger });
  const producer = kafka.producer(PRODUCER_SETTINGS);
  const serde = new Serde(env.registryUrl);
  const factory = new OrderFactory(13);
  const firstFailure = Date.now() - 2 * 3600_000;
  await producer.connect();
  try {
    for (let start = 0; start < records; start += SEND_BATCH) {
      const messages: Message[] = [];
      for (let i = start; i < Math.min(records, start + SEND_BATCH); i += 1) {
        const order = factory.order();
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
}

async function load(url: string, seconds: number, overallRate?: number): Promise<Result> {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    ...(overallRate === undefined ? {} : { overallRate }),
  });
}

export async function benchDlqService(env: BenchEnvironment, options: DlqOptions): Promise<Section> {
  const result = section(
    'dlq',
    `6. DLQ service: list endpoint and archive build with ${formatCount(options.records)} dead letters`,
    `${formatCount(options.records)} dead letters are written to a fresh DLQ topic as the consumer writes them ` +
      `(original bytes, context ` +
      'headers; 60 % invalid orders, 20 % retries exhausted, 20 % undecodable). The real service ' +
      '(`services/dlq-service/main.ts`, default ' +
      'settings, a new archive file) starts on it; the build time is what the service logs when its archive has ' +
      'read the DLQ to the end (from the start of ' +
      `its DLQ reader), and the time from process start until GET /ready answers 200. Then autocannon ` +
      `(${CONNECTIONS} connections, ` +
      `latencies corrected for coordinated omission) sends requests at a fixed ` +
      `${formatCount(options.ratePerSecond)}/s for ` +
      `${options.seconds} s after a short warm-up: GET /dlq (first page, default size, newest first, total of all ` +
      `records) and a filtered ` +
      'list; then as fast as it can, for the most requests per second. Last, the resident memory of the loaded ' +
      'service, and a restart on the archive it built: the time from process start until GET /ready answers 200.',
  );
  const lab = new BenchLab(env, 'dlq');
  try {
    await lab.start();
    const { schemaId } = lab;
    env.say(`dlq: writing ${formatCount(options.records)} dead letters`);
    await fillDlq(lab, env, schemaId, options.records);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const start = async (label: string, log: RegExp) => {
      const spawnedAt = Date.now();
      const service = await lab.spawnNode('services/dlq-service/main.ts', {
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
    // A first start builds the archive from the topic; the restart after the load finds it and resumes.
    const { service, line: built, readyMs } = await start('dlq-service', /^DLQ archive up to date$/);
    result.commands.push(service.command);
    if (Number(built.records) !== options.records)
      throw new Error(`the archive holds ${String(built.records)} records, expected ${options.records}`);

    const first = (await (await fetch(`${base}/dlq`)).json()) as { total: number; items: unknown[] };
    if (first.total !== options.records)
      throw new Error(`GET /dlq says total ${first.total}, expected ${options.records}`);

    const cases = [
      { name: 'GET /dlq', url: `${base}/dlq` },
      {
        name: 'GET /dlq?failureClass=invalid&product=laptop',
        url: `${base}/dlq?failureClass=invalid&product=laptop`,
      },
    ];
    const rows: (string | number)[][] = [];
    let target: Result | undefined;
    for (const entry of cases) {
      await load(entry.url, Math.min(3, options.seconds), options.ratePerSecond); // warm-up
      env.say(`dlq: ${entry.name} at ${options.ratePerSecond}/s for ${options.seconds} s`);
      const fixed = await load(entry.url, options.seconds, options.ratePerSecond);
      env.say(`dlq: ${entry.name} as fast as it goes`);
      const unlimited = await load(entry.url, Math.min(10, options.seconds));
      target ??= fixed;
      rows.push([
        entry.name,
        formatCount(fixed.requests.average),
        formatNumber(fixed.latency.p50, 1),
        formatNumber(fixed.latency.p99, 1),
        formatNumber(fixed.latency.max, 1),
        `${fixed.errors + fixed.timeouts} / ${fixed.non2xx}`,
        formatCount(unlimited.requests.average),
        formatNumber(unlimited.latency.p99, 1),
      ]);
    }
    const residentMb = await service.residentMb();
    await service.stop();
    const restart = await start('dlq-service-restart', /^DLQ archive: resuming$/);
    await restart.service.stop();
    const [profileFile] = await service.profiles();
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
        'archive build (service log)',
        'records',
        'process start → /ready 200',
        'resident memory after the load',
        'restart with the archive → /ready 200',
      ],
      rows: [
        [
          `${formatCount(Number(built.ms))} ms`,
          formatCount(Number(built.records)),
          `${formatCount(readyMs)} ms`,
          `${formatCount(residentMb)} MB`,
          `${formatCount(restart.readyMs)} ms`,
        ],
      ],
    });
    result.tables.push({
      headers: [
        'request',
        `req/s at ${formatCount(options.ratePerSecond)}/s`,
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors / non-2xx',
        'max req/s',
        'p99 ms at max',
      ],
      rows,
    });
    result.notes.push(
      'autocannon runs in the benchmark process, the service in its own; both share the machine with the broker.',
    );
    result.targets.push({
      figure: `DLQ list p99 at ${formatCount(options.ratePerSecond)} req/s, ${formatCount(options.records)} records`,
      target: `< ${DLQ_TARGET_P99_MS} ms`,
      measured:
        `${formatNumber(target!.latency.p99, 1)} ms ` +
        `(p50 ${formatNumber(target!.latency.p50, 1)}, ${formatCount(target!.requests.average)} req/s)`,
      met: target!.latency.p99 < DLQ_TARGET_P99_MS && target!.non2xx === 0 && target!.errors === 0,
    });
    return result;
  } finally {
    await lab.stop();
  }
}
