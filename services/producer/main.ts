#!/usr/bin/env -S npx tsx
// Order producer. The seed's flags keep working (--broker --topic --schema
// --interval --count); every flag also has an environment variable.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, serviceSpecs, withFlags } from '../lib/config.ts';
import { createKafka } from '../lib/kafka.ts';
import { startOpsServer } from '../lib/ops-server.ts';
import { readSchemaFile, Serde } from '../lib/serde.ts';
import { runService } from '../lib/service.ts';
import { valueSubject } from '../lib/topics.ts';
import { wait } from '../lib/retry.ts';
import { OrderFactory } from './orders.ts';
import { OrderSender, PRODUCER_SETTINGS, SEND_BATCH } from './producer.ts';

const FLAGS = {
  broker: { variable: 'KAFKA_BROKERS' },
  topic: { variable: 'ORDERS_TOPIC' },
  schema: { variable: 'SCHEMA_FILE' },
  interval: { variable: 'PRODUCER_INTERVAL_SECONDS' },
  count: { variable: 'PRODUCER_COUNT' },
  seed: { variable: 'PRODUCER_SEED' },
  invalid: { variable: 'PRODUCER_INVALID' },
  poison: { variable: 'PRODUCER_POISON' },
  transient: { variable: 'PRODUCER_TRANSIENT' },
  'fail-times': { variable: 'PRODUCER_FAIL_TIMES' },
  json: { variable: 'PRODUCER_JSON', boolean: true },
};
const PROGRESS_EVERY_MS = 5000;
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

await runService('producer', async (logger) => {
  const config = loadConfig(serviceSpecs.producer, withFlags(process.argv.slice(2), FLAGS));
  logger.level = config.LOG_LEVEL;
  const seed = config.PRODUCER_SEED ?? Math.floor(Math.random() * 2 ** 31);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'order-producer', logger });
  const producer = kafka.producer(PRODUCER_SETTINGS);
  const serde = new Serde(config.SCHEMA_REGISTRY_URL);
  // Registering an already registered schema returns its id: the producer
  // works whether or not topic-init has run.
  const schemaId = await serde.register(await readSchemaFile(resolve(projectRoot, config.SCHEMA_FILE)), valueSubject(config.ORDERS_TOPIC));
  await producer.connect();
  const sender = new OrderSender(producer, serde, config.ORDERS_TOPIC, schemaId, config.PRODUCER_FAIL_TIMES);
  const ops = await startOpsServer(config.HTTP_PORT, sender.registry, () => ({ ok: true }));

  const stopping = new AbortController();
  process.once('SIGINT', () => stopping.abort());
  process.once('SIGTERM', () => stopping.abort());

  const factory = new OrderFactory(seed);
  const plan = factory.plan({
    valid: config.PRODUCER_COUNT,
    invalid: config.PRODUCER_INVALID,
    poison: config.PRODUCER_POISON,
    transient: config.PRODUCER_TRANSIENT,
    failTimes: config.PRODUCER_FAIL_TIMES,
  });
  const endless = config.PRODUCER_COUNT === 0;
  const intervalMs = config.PRODUCER_INTERVAL_SECONDS * 1000;
  const started = Date.now();
  let lastProgress = started;
  logger.info({ topic: config.ORDERS_TOPIC, schemaId, seed, planned: endless ? 'until stopped' : plan.length }, 'producing');

  let next = 0;
  while (!stopping.signal.aborted && (endless || next < plan.length)) {
    const size = intervalMs > 0 ? 1 : SEND_BATCH;
    const records = next < plan.length ? plan.slice(next, next + size) : Array.from({ length: size }, () => factory.valid());
    next += records.length;
    try {
      await sender.send(records);
    } catch (error) {
      logger.error({ err: error, records: records.length }, 'send failed');
    }
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = Date.now();
      const seconds = (lastProgress - started) / 1000;
      logger.info({ sent: sender.truth.sent, ratePerSecond: Math.round(sender.truth.sent / seconds), errors: sender.errors }, 'progress');
    }
    if (intervalMs > 0) await wait(intervalMs, stopping.signal);
  }

  await producer.disconnect();
  await ops.close();
  const seconds = (Date.now() - started) / 1000;
  logger.info({ sent: sender.truth.sent, errors: sender.errors, seconds, ratePerSecond: Math.round(sender.truth.sent / Math.max(seconds, 0.001)), seed }, 'done');
  if (config.PRODUCER_JSON) process.stdout.write(`${JSON.stringify({ seed, ...sender.truth })}\n`);
  if (sender.errors > 0) process.exitCode = 1;
});
