#!/usr/bin/env -S npx tsx
// kafkajs alone, with the services' client settings and nothing else: how
// fast it produces records the producer service would send (Avro values
// encoded before the clock starts) or consumes a topic (each batch counted
// and dropped). The producer and consumer benchmarks run it beside the
// services, to show how much of the gap to Kafka's Java tools is kafkajs's.
//
//   scripts/bench/kafkajs-floor.ts --mode produce --topic T --records N
//   scripts/bench/kafkajs-floor.ts --mode consume --topic T --records N --group G
//
// KAFKA_BROKERS and SCHEMA_REGISTRY_URL as for the services. Prints one JSON
// line: {"msg":"floor","records":N,"ms":...}.
import { parseArgs } from 'node:util';
import type { Message } from 'kafkajs';
import { createKafka, FETCH_SETTINGS, PRODUCER_SETTINGS, SEND_BATCH } from '../../services/lib/kafka.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { Serde } from '../../services/lib/serde.ts';
import { valueSubject } from '../../services/lib/topics.ts';
import { OrderFactory } from '../../services/producer/orders.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    topic: { type: 'string' },
    records: { type: 'string' },
    group: { type: 'string' },
  },
});
const records = Number(values.records);
const { mode, topic } = values;
const brokers = process.env.KAFKA_BROKERS?.split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL;
if (
  (mode !== 'produce' && mode !== 'consume') ||
  !topic ||
  !Number.isInteger(records) ||
  records <= 0 ||
  !brokers ||
  !registryUrl
) {
  process.stderr.write(
    'usage: kafkajs-floor.ts --mode produce|consume --topic T --records N [--group G], with KAFKA_BROKERS and ' +
      'SCHEMA_REGISTRY_URL set\n',
  );
  process.exit(2);
}
const logger = createLogger('kafkajs-floor', 'error');
const kafka = createKafka({ brokers, clientId: `kafkajs-floor-${process.pid}`, logger });

if (mode === 'produce') {
  const serde = new Serde(registryUrl);
  const schemaId = await serde.latestId(valueSubject(topic));
  const factory = new OrderFactory(99);
  const messages: Message[] = [];
  for (let i = 0; i < records; i += 1) {
    const order = factory.order();
    messages.push({ key: order.orderId, value: await serde.encode(schemaId, order) });
  }
  const producer = kafka.producer(PRODUCER_SETTINGS);
  await producer.connect();
  const started = performance.now();
  for (let i = 0; i < records; i += SEND_BATCH) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + SEND_BATCH) });
  }
  const ms = performance.now() - started;
  await producer.disconnect();
  process.stdout.write(`${JSON.stringify({ msg: 'floor', mode, records, ms })}\n`);
} else {
  if (!values.group) throw new Error('--group is required with --mode consume');
  const consumer = kafka.consumer({ groupId: values.group, maxWaitTimeInMs: FETCH_SETTINGS.maxWaitTimeInMs });
  let joinedAt = 0;
  let seen = 0;
  let finish: (at: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => (joinedAt = performance.now()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: FETCH_SETTINGS.partitionsConsumedConcurrently,
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length;
      if (seen >= records) finish(performance.now());
    },
  });
  const finishedAt = await done;
  await consumer.disconnect();
  process.stdout.write(`${JSON.stringify({ msg: 'floor', mode, records: seen, ms: finishedAt - joinedAt })}\n`);
}
