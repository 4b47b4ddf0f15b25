#!/usr/bin/env -S npx tsx
// Prints dead letters: the decoded order (or the bytes as base64 when they do
// not decode), where it came from, why it failed, after how many attempts and
// when. By default the newest --last records, as a table; --from-beginning for
// all of them, --follow to keep printing new ones, --json for one JSON object
// per line. It does what the original quick_dlq_reader.py did, and more.
import { parseArgs } from 'node:util';
import type { KafkaMessage } from 'kafkajs';
import { loadConfig, serviceSpecs } from '../services/lib/config.ts';
import { deadLetterId, readDeadLetterHeaders } from '../services/lib/dlq.ts';
import { OrderFailure } from '../services/lib/errors.ts';
import { createKafka } from '../services/lib/kafka.ts';
import { withLabEndpoints } from '../services/lib/lab-endpoints.ts';
import { createLogger } from '../services/lib/logger.ts';
import { Serde } from '../services/lib/serde.ts';
import { TopicFollower } from '../services/lib/topic-follower.ts';

/** How long reading the DLQ up to its end may take before the reader gives up (a DLQ of millions takes minutes). */
const CATCH_UP_TIMEOUT_MS = 15 * 60_000;

const { values: options } = parseArgs({
  options: {
    broker: { type: 'string' },
    topic: { type: 'string' },
    json: { type: 'boolean', default: false },
    follow: { type: 'boolean', default: false },
    'from-beginning': { type: 'boolean', default: false },
    last: { type: 'string', default: '20' },
    help: { type: 'boolean', default: false },
  },
});
if (options.help) {
  console.log(`Usage: scripts/dlq-reader.ts [--broker host:port] [--topic orders-dlq]
                            [--last N | --from-beginning] [--follow] [--json]
Environment: KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DLQ_TOPIC.`);
  process.exit(0);
}
const last = Number(options.last);
if (!Number.isInteger(last) || last < 1) {
  console.error(`--last: expected a whole number >= 1, got "${String(options.last)}"`);
  process.exit(2);
}

const spec = {
  KAFKA_BROKERS: serviceSpecs.consumer.KAFKA_BROKERS,
  SCHEMA_REGISTRY_URL: serviceSpecs.consumer.SCHEMA_REGISTRY_URL,
  DLQ_TOPIC: serviceSpecs.consumer.DLQ_TOPIC,
};
// Run beside `make up`'s lab without the variables, it reads that lab's DLQ, and says so first.
const { env, note } = withLabEndpoints({
  ...process.env,
  ...(options.broker === undefined ? {} : { KAFKA_BROKERS: options.broker }),
  ...(options.topic === undefined ? {} : { DLQ_TOPIC: options.topic }),
});
if (note) console.error(`dlq-reader: ${note}`);
const config = loadConfig(spec, env);
// Its output is the dead letters (--json: one object a line), so its logs go to stderr.
const logger = createLogger('dlq-reader', 'warn', 2);
const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'dlq-reader', logger });
const serde = new Serde(config.SCHEMA_REGISTRY_URL);

interface Row {
  id: string;
  failedAt: string;
  failureClass: string;
  attempts: number | null;
  origin: string;
  key: string;
  order: Record<string, unknown> | null;
  valueBase64: string | null;
  undecodableBecause: string | null;
  reason: string;
  replayCount: number;
}

async function toRow(partition: number, message: KafkaMessage): Promise<Row> {
  const headers = readDeadLetterHeaders(message.headers);
  let order: Record<string, unknown> | null = null;
  let undecodableBecause: string | null = null;
  try {
    order = (await serde.decode(message.value)).value;
  } catch (error) {
    if (!(error instanceof OrderFailure)) throw error;
    undecodableBecause = error.message;
  }
  return {
    id: deadLetterId(partition, message.offset),
    failedAt: headers.failedAt?.toISOString() ?? new Date(Number(message.timestamp)).toISOString(),
    failureClass: headers.failureClass ?? 'unknown',
    attempts: headers.attempts ?? null,
    origin: `${headers.originTopic ?? '?'}/${headers.originPartition ?? '?'}/${headers.originOffset ?? '?'}`,
    key: message.key?.toString() ?? '',
    order,
    valueBase64: order === null ? (message.value?.toString('base64') ?? null) : null,
    undecodableBecause,
    reason: headers.exceptionMessage ?? '',
    replayCount: headers.replayCount,
  };
}

const COLUMNS: [string, number, (row: Row) => string][] = [
  ['id', 9, (r) => r.id],
  ['failed at', 24, (r) => r.failedAt],
  ['class', 17, (r) => r.failureClass],
  ['att', 3, (r) => String(r.attempts ?? '?')],
  ['origin', 30, (r) => r.origin],
  [
    'order',
    44,
    (r) =>
      r.order
        ? `${String(r.order.orderId)} ${String(r.order.product)} ${String(r.order.price)}`
        : `base64:${r.valueBase64 ?? ''}`,
  ],
  ['reason', 60, (r) => r.reason],
];
const cell = (text: string, width: number) =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
const print = (row: Row) =>
  console.log(
    options.json ? JSON.stringify(row) : COLUMNS.map(([, width, value]) => cell(value(row), width)).join('  '),
  );

// Until the reader has caught up it keeps every record (--from-beginning) or
// the newest `last` of each partition; then it prints the newest `last` over
// all partitions, oldest first, and after that new ones as they come. (Counting
// back from the end offset would not do: transaction markers take offsets.)
// Rows are decoded one at a time, in order: the registry client caches a
// schema only once it has it, so decoding many at once would ask for it many
// times at once.
let caughtUp = false;
const backlog = new Map<number, KafkaMessage[]>();
let printing = Promise.resolve();
const printInOrder = (rows: [number, KafkaMessage][]) => {
  printing = printing.then(async () => {
    for (const [partition, message] of rows) print(await toRow(partition, message));
  });
};
const admin = kafka.admin();
await admin.connect();
// A topic that does not exist is an error here (a consumer would wait for it, or have the broker create it).
if (!(await admin.listTopics()).includes(config.DLQ_TOPIC)) {
  console.error(`topic ${config.DLQ_TOPIC} does not exist (set by --topic or DLQ_TOPIC)`);
  process.exit(2);
}
if (!options.json) console.log(COLUMNS.map(([name, width]) => cell(name, width)).join('  '));
const follower = new TopicFollower(
  kafka,
  admin,
  config.DLQ_TOPIC,
  'dlq-reader',
  async ({ batch }) => {
    for (const message of batch.messages) {
      if (caughtUp) {
        printInOrder([[batch.partition, message]]);
        continue;
      }
      const kept = backlog.get(batch.partition) ?? [];
      backlog.set(batch.partition, kept);
      kept.push(message);
      if (!options['from-beginning'] && kept.length > last) kept.shift();
    }
  },
  logger,
);
await follower.start();
await follower.waitUntilCaughtUp(CATCH_UP_TIMEOUT_MS);
const failedAt = ([, message]: [number, KafkaMessage]) =>
  readDeadLetterHeaders(message.headers).failedAt?.getTime() ?? Number(message.timestamp);
const kept = [...backlog]
  .flatMap(([partition, messages]) => messages.map((message): [number, KafkaMessage] => [partition, message]))
  .sort((a, b) => failedAt(a) - failedAt(b));
printInOrder(options['from-beginning'] ? kept : kept.slice(-last));
caughtUp = true;
await printing;
if (options.follow) {
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
await follower.stop();
await printing;
await admin.disconnect();
