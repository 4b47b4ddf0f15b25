#!/usr/bin/env -S npx tsx
// A Kafka client alone, with the services' client settings and nothing else:
// how fast it produces records the producer service would send (Avro values
// encoded before the clock starts), consumes a topic (each batch counted and
// dropped), or copies a topic to another in transactions that also commit the
// input offsets (consume-transform-produce, exactly once). The producer and
// consumer benchmarks run it with kafkajs beside the services, to show how
// much of the gap to Kafka's Java tools is kafkajs's; the librdkafka benchmark
// runs it with kafkajs and with Confluent's client (scripts/bench/floor-clients.ts).
//
//   scripts/bench/kafkajs-floor.ts --mode produce --topic T --records N [--in-flight SENDS]
//   scripts/bench/kafkajs-floor.ts --mode consume --topic T --records N --group G
//   scripts/bench/kafkajs-floor.ts --mode transact --topic T --to T2 --records N --group G --txn-records 500
//   ... --client confluent --client-dir .cache/confluent-kafka-javascript/node_modules/@confluentinc/kafka-javascript
//
// KAFKA_BROKERS and SCHEMA_REGISTRY_URL as for the services. Prints one JSON
// line: {"msg":"floor","records":N,"ms":...,"cpuMs":...}, timed from the first
// send or the first batch received to the last acknowledgement, batch or commit;
// cpuMs is the process's CPU time (all threads) over that time.
import { parseArgs } from 'node:util';
import { FETCH_SETTINGS, SEND_BATCH } from '../../services/lib/kafka.ts';
import { Serde } from '../../services/lib/serde.ts';
import { valueSubject } from '../../services/lib/topics.ts';
import { OrderFactory } from '../../services/producer/orders.ts';
import {
  CLIENTS,
  floorClient,
  type ClientName,
  type ConsumedBatch,
  type FloorClient,
  type FloorConsumer,
  type OutgoingMessage,
} from './floor-clients.ts';

const MODES = ['produce', 'consume', 'transact'] as const;

const { values } = parseArgs({
  options: {
    client: { type: 'string', default: 'kafkajs' },
    'client-dir': { type: 'string' },
    mode: { type: 'string' },
    topic: { type: 'string' },
    to: { type: 'string' },
    records: { type: 'string' },
    group: { type: 'string' },
    'txn-records': { type: 'string', default: String(SEND_BATCH) },
    'in-flight': { type: 'string', default: '1' },
  },
});
const records = Number(values.records);
const txnRecords = Number(values['txn-records']);
const inFlight = Number(values['in-flight']);
const { mode, topic, group, to } = values;
const brokers = process.env.KAFKA_BROKERS?.split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL;
const isOneOf = <T extends string>(list: readonly T[], value: string | undefined): value is T =>
  (list as readonly (string | undefined)[]).includes(value);
if (
  !isOneOf(MODES, mode) ||
  !isOneOf(CLIENTS, values.client) ||
  !topic ||
  !Number.isInteger(records) ||
  records <= 0 ||
  !Number.isInteger(txnRecords) ||
  txnRecords <= 0 ||
  !Number.isInteger(inFlight) ||
  inFlight <= 0 ||
  (mode !== 'produce' && !group) ||
  (mode === 'transact' && !to) ||
  !brokers ||
  !registryUrl
) {
  process.stderr.write(
    'usage: kafkajs-floor.ts --mode produce|consume|transact --topic T --records N [--group G] [--to T2] ' +
      '[--txn-records N] [--in-flight SENDS] [--client kafkajs|confluent --client-dir DIR], with KAFKA_BROKERS and ' +
      'SCHEMA_REGISTRY_URL ' +
      'set (consume and transact need --group, transact --to)\n',
  );
  process.exit(2);
}
const client = floorClient(values.client as ClientName, brokers, `floor-${process.pid}`, values['client-dir']);

/** The clock of a measured run: elapsed time and the process's CPU time from start() to stop(). */
class Stopwatch {
  private startedAt: number | undefined;
  private cpuAtStart: NodeJS.CpuUsage | undefined;

  start(): void {
    if (this.startedAt !== undefined) return;
    this.startedAt = performance.now();
    this.cpuAtStart = process.cpuUsage();
  }

  stop(): { ms: number; cpuMs: number } {
    const { user, system } = process.cpuUsage(this.cpuAtStart);
    return { ms: performance.now() - (this.startedAt ?? Number.NaN), cpuMs: (user + system) / 1000 };
  }
}

async function produce(client: FloorClient, topic: string): Promise<Record<string, number>> {
  const serde = new Serde(registryUrl!);
  const schemaId = await serde.latestId(valueSubject(topic));
  const factory = new OrderFactory(99);
  const messages: OutgoingMessage[] = [];
  let valueBytes = 0;
  for (let i = 0; i < records; i += 1) {
    const order = factory.order();
    const value = await serde.encode(schemaId, order);
    valueBytes += value.length;
    messages.push({ key: order.orderId, value });
  }
  const producer = client.producer();
  await producer.connect();
  const clock = new Stopwatch();
  clock.start();
  // inFlight sends of SEND_BATCH records at a time, each awaited until acknowledged (1: one after the other).
  let next = 0;
  const sender = async () => {
    for (let i = next; i < records; i = next) {
      next += SEND_BATCH;
      await producer.send(topic, messages.slice(i, i + SEND_BATCH));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, sender));
  const timed = clock.stop();
  await producer.disconnect();
  return { records, valueBytes, ...timed };
}

/**
 * Runs a consumer of `client` until `onBatch` says it is done (by returning true); timed from the group join (the
 * partitions assigned) to then.
 */
async function consumeUntilDone(
  client: FloorClient,
  options: { autoCommit: boolean; concurrency: number },
  onBatch: (batch: ConsumedBatch, consumer: FloorConsumer) => Promise<boolean>,
): Promise<{ ms: number; cpuMs: number }> {
  const clock = new Stopwatch();
  const consumer = client.consumer(group!, { autoCommit: options.autoCommit, onJoin: () => clock.start() });
  let finish: (timed: { ms: number; cpuMs: number }) => void = () => undefined;
  const done = new Promise<{ ms: number; cpuMs: number }>((resolve) => (finish = resolve));
  let finished = false;
  await consumer.connect();
  await consumer.subscribe(topic!);
  await consumer.run(async (batch) => {
    if (finished || batch.messages.length === 0) return;
    if (await onBatch(batch, consumer)) {
      finished = true;
      finish(clock.stop());
    }
  }, options.concurrency);
  const timed = await done;
  await consumer.disconnect();
  return timed;
}

async function consume(client: FloorClient): Promise<Record<string, number>> {
  let seen = 0;
  const concurrency = FETCH_SETTINGS.partitionsConsumedConcurrently;
  const timed = await consumeUntilDone(client, { autoCommit: true, concurrency }, async (batch) => {
    seen += batch.messages.length;
    return seen >= records;
  });
  return { records: seen, ...timed };
}

/**
 * Consume-transform-produce: every input record becomes one output record (key and value as they were, a header
 * naming where it came from), txnRecords of them per transaction, which also commits the input offsets. Batches are
 * taken one at a time, so that a transaction holds exactly txnRecords records whatever size each client's batches
 * have.
 */
async function transact(client: FloorClient): Promise<Record<string, number>> {
  const producer = client.producer({ transactionalId: `${group}-txn` });
  await producer.connect();
  let pending: OutgoingMessage[] = [];
  const nextOffsets = new Map<number, string>();
  let processed = 0;
  let transactions = 0;
  const commit = async (consumer: FloorConsumer) => {
    const partitions = [...nextOffsets].map(([partition, offset]) => ({ partition, offset }));
    await producer.transact(to!, pending, consumer, [{ topic: topic!, partitions }]);
    transactions += 1;
    pending = [];
    nextOffsets.clear();
  };
  const each = async ({ topic: from, partition, messages }: ConsumedBatch, consumer: FloorConsumer) => {
    for (const message of messages) {
      if (processed === records) break;
      pending.push({
        key: message.key,
        value: message.value,
        headers: { source: `${from}/${partition}@${message.offset}` },
      });
      nextOffsets.set(partition, (BigInt(message.offset) + 1n).toString());
      processed += 1;
      if (pending.length === txnRecords || processed === records) await commit(consumer);
    }
    return processed === records;
  };
  const timed = await consumeUntilDone(client, { autoCommit: false, concurrency: 1 }, each);
  await producer.disconnect();
  return { records: processed, transactions, txnRecords, ...timed };
}

const figures =
  mode === 'produce'
    ? await produce(client, topic)
    : mode === 'consume'
      ? await consume(client)
      : await transact(client);
process.stdout.write(`${JSON.stringify({ msg: 'floor', client: client.name, mode, ...figures })}\n`);
