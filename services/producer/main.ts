#!/usr/bin/env -S npx tsx
// Order producer. The original Python producer's flags keep working (--broker --topic --schema
// --interval --count); every flag also has an environment variable.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, serviceSpecs, withFlags, type ServiceConfig } from '../lib/config.ts';
import { createKafka, PRODUCER_SETTINGS, SEND_BATCH } from '../lib/kafka.ts';
import { withLabEndpoints } from '../lib/lab-endpoints.ts';
import { createLogger } from '../lib/logger.ts';
import { startOpsServer } from '../lib/ops-server.ts';
import { readSchemaFile, Serde } from '../lib/serde.ts';
import { runService } from '../lib/service.ts';
import { valueSubject } from '../lib/topics.ts';
import { wait } from '../lib/retry.ts';
import { ENDLESS_BLOCK, OrderFactory, type PlannedRecord } from './orders.ts';
import { OrderSender } from './producer.ts';

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
/** Most records a run with --json may send: its ground truth holds each one in memory until printed at the end. */
const JSON_MAX_RECORDS = 1_000_000;
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

await runService('producer', async (startLogger) => {
  // Run by hand beside `make up`'s lab, the producer sends into it.
  const { env, note } = withLabEndpoints(withFlags(process.argv.slice(2), FLAGS));
  if (note) startLogger.info(note);
  const config = loadConfig(serviceSpecs.producer, env);
  startLogger.level = config.LOG_LEVEL;
  refuseUnprintableTruth(config);
  refuseOverfullBlock(config);
  // With --json, stdout carries the ground truth alone: the logs go to stderr.
  const logger = config.PRODUCER_JSON ? createLogger('producer', config.LOG_LEVEL, 2) : startLogger;
  const seed = config.PRODUCER_SEED ?? Math.floor(Math.random() * 2 ** 31);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'order-producer', logger });
  const producer = kafka.producer(PRODUCER_SETTINGS);
  const serde = new Serde(config.SCHEMA_REGISTRY_URL);
  // Registering an already registered schema returns its id: the producer
  // works whether or not topic-init has run.
  const schemaId = await serde.register(
    await readSchemaFile(resolve(projectRoot, config.SCHEMA_FILE)),
    valueSubject(config.ORDERS_TOPIC),
  );
  await producer.connect();
  const sender = new OrderSender(producer, serde, config.ORDERS_TOPIC, schemaId, {
    failTimes: config.PRODUCER_FAIL_TIMES,
    keepTruth: config.PRODUCER_JSON,
  });
  const ops = await startOpsServer(config.HTTP_PORT, sender.registry, () => ({ ok: true }));

  const stopping = new AbortController();
  process.once('SIGINT', () => stopping.abort());
  process.once('SIGTERM', () => stopping.abort());

  const factory = new OrderFactory(seed);
  const scenario = {
    invalid: config.PRODUCER_INVALID,
    poison: config.PRODUCER_POISON,
    transient: config.PRODUCER_TRANSIENT,
    failTimes: config.PRODUCER_FAIL_TIMES,
  };
  const endless = config.PRODUCER_COUNT === 0;
  // Made as they are sent: planning a huge count up front would not fit in memory.
  const records = endless ? factory.endless(scenario) : factory.plan({ valid: config.PRODUCER_COUNT, ...scenario });
  const intervalMs = config.PRODUCER_INTERVAL_SECONDS * 1000;
  const started = Date.now();
  let lastProgress = started;
  const planned = endless ? 'until stopped' : plannedTotal(config);
  logger.info({ topic: config.ORDERS_TOPIC, schemaId, seed, planned }, 'producing');

  while (!stopping.signal.aborted) {
    const batch = take(records, intervalMs > 0 ? 1 : SEND_BATCH);
    if (batch.length === 0) break;
    try {
      await sender.send(batch);
    } catch (error) {
      logger.error({ err: error, records: batch.length }, 'send failed');
    }
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = Date.now();
      const seconds = (lastProgress - started) / 1000;
      const ratePerSecond = Math.round(sender.sent / seconds);
      logger.info({ sent: sender.sent, ratePerSecond, errors: sender.errors }, 'progress');
    }
    if (intervalMs > 0) await wait(intervalMs, stopping.signal);
  }

  await producer.disconnect();
  await ops.close();
  const seconds = (Date.now() - started) / 1000;
  const ratePerSecond = Math.round(sender.sent / Math.max(seconds, 0.001));
  logger.info({ sent: sender.sent, errors: sender.errors, seconds, ratePerSecond, seed }, 'done');
  if (config.PRODUCER_JSON) process.stdout.write(`${JSON.stringify({ seed, ...sender.groundTruth() })}\n`);
  if (sender.errors > 0) process.exitCode = 1;
});

/** Records a finite run sends, of every category. */
function plannedTotal(config: ServiceConfig<'producer'>): number {
  return config.PRODUCER_COUNT + config.PRODUCER_INVALID + config.PRODUCER_POISON + config.PRODUCER_TRANSIENT;
}

/**
 * The ground truth (--json) keeps every record sent until it is printed at the end. An endless run never gets
 * there and would only grow, so it is refused rather than kept; so is a run whose truth would not fit in memory.
 */
function refuseUnprintableTruth(config: ServiceConfig<'producer'>): void {
  if (!config.PRODUCER_JSON) return;
  if (config.PRODUCER_COUNT === 0) {
    throw new ConfigError({
      PRODUCER_JSON:
        'cannot be set with PRODUCER_COUNT=0 (until stopped): the ground truth of an endless run is never printed',
    });
  }
  const total = plannedTotal(config);
  if (total > JSON_MAX_RECORDS) {
    throw new ConfigError({
      PRODUCER_COUNT:
        `with PRODUCER_JSON set, PRODUCER_COUNT + PRODUCER_INVALID + PRODUCER_POISON + PRODUCER_TRANSIENT ` +
        `must be at most ${JSON_MAX_RECORDS} (the ground truth holds every record in memory), got ${total}`,
    });
  }
}

/** An endless run mixes its failures into blocks of ENDLESS_BLOCK records: they must fit in one. */
function refuseOverfullBlock(config: ServiceConfig<'producer'>): void {
  const failures = config.PRODUCER_INVALID + config.PRODUCER_POISON + config.PRODUCER_TRANSIENT;
  if (config.PRODUCER_COUNT !== 0 || failures <= ENDLESS_BLOCK) return;
  throw new ConfigError({
    PRODUCER_INVALID:
      `with PRODUCER_COUNT=0, PRODUCER_INVALID + PRODUCER_POISON + PRODUCER_TRANSIENT are counts in every ` +
      `${ENDLESS_BLOCK} records and must add up to at most ${ENDLESS_BLOCK}, got ${failures}`,
  });
}

/** Up to `size` records from the iterator; fewer (or none) once it is done. */
function take(records: Iterator<PlannedRecord>, size: number): PlannedRecord[] {
  const batch: PlannedRecord[] = [];
  for (let next = records.next(); !next.done; next = records.next()) {
    batch.push(next.value);
    if (batch.length === size) break;
  }
  return batch;
}
