// Wires the consumer: stats reader, destinations, lanes, processor, kafkajs
// consumer, metrics and health. Used by main.ts and imported by tests.
import type { Consumer } from 'kafkajs';
import type { ServiceConfig } from '../lib/config.ts';
import { connectAdmin, createKafka, FETCH_SETTINGS } from '../lib/kafka.ts';
import type { Logger } from '../lib/logger.ts';
import { startOpsServer, type OpsServer } from '../lib/ops-server.ts';
import { Serde } from '../lib/serde.ts';
import { StatsReader } from '../lib/stats-reader.ts';
import { Destinations } from './destinations.ts';
import { ConsumerHealth } from './health.ts';
import type { OffsetResetPolicy } from './lane.ts';
import { createConsumerMetrics } from './metrics.ts';
import { OrderProcessor } from './processor.ts';
import { RetryTopics } from './retry-topics.ts';

export interface RunningConsumer {
  httpPort: number;
  stop(): Promise<void>;
}

/**
 * Starts the consumer. `onFatal` is called when kafkajs gives up for good
 * (a crash it does not restart from): /health answers 503 from then on, and
 * the caller is expected to stop and exit non-zero so a supervisor restarts it.
 */
export async function startConsumer(
  config: ServiceConfig<'consumer'>,
  logger: Logger,
  onFatal: (error: Error) => void,
): Promise<RunningConsumer> {
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `order-consumer-${process.pid}`, logger });
  const admin = await connectAdmin(kafka, config.KAFKA_BROKERS, 60_000);
  const retryTopics = new RetryTopics(config.ORDERS_TOPIC, config.MAX_RETRIES);
  const destinations = new Destinations(
    admin,
    config.ORDERS_TOPIC,
    [config.DLQ_TOPIC, ...retryTopics.topics],
    config.STATS_TOPIC,
    logger,
  );
  await destinations.refresh();
  destinations.checkCommitMaxBytes(config.COMMIT_MAX_BYTES);
  const statsReader = new StatsReader(kafka, admin, config.STATS_TOPIC, logger);
  await statsReader.start();

  const shutdown = new AbortController();
  const health = new ConsumerHealth(config.RETRY_MODE, config.HEALTH_STALL_MS);
  const metrics = createConsumerMetrics(
    () => statsReader.totalsOf(config.CONSUMER_GROUP),
    () => health.status().ok,
  );
  const processor = new OrderProcessor({
    lanes: {
      kafka,
      admin,
      statsReader,
      group: config.CONSUMER_GROUP,
      statsTopic: config.STATS_TOPIC,
      restoreTimeoutMs: config.RESTORE_TIMEOUT_MS,
      offsetResetPolicy: config.STATS_ON_OFFSET_RESET as OffsetResetPolicy,
      onOffsetReset(reset) {
        logger.error(
          reset,
          `the committed offset of ${reset.topic}/${reset.partition} (${reset.committed}) is not the one its stored ` +
            `aggregate accounts up to (${reset.stored}): the offset was moved outside the consumer; ` +
            `STATS_ON_OFFSET_RESET=${reset.policy}`,
        );
        metrics.offsetResets.inc({ topic: reset.topic, partition: String(reset.partition) });
        health.offsetReset(reset);
      },
    },
    serde: new Serde(config.SCHEMA_REGISTRY_URL),
    logger,
    metrics,
    health,
    policy: {
      baseMs: config.RETRY_BASE_MS,
      factor: config.RETRY_FACTOR,
      maxMs: config.RETRY_MAX_MS,
      jitter: config.RETRY_JITTER,
      maxRetries: config.MAX_RETRIES,
    },
    mode: config.RETRY_MODE as 'blocking' | 'topics',
    retryTopics,
    destinations,
    dlqTopic: config.DLQ_TOPIC,
    downstream: { faultInjection: config.FAULT_INJECTION, latencyMs: config.DOWNSTREAM_LATENCY_MS },
    commitMaxRecords: config.COMMIT_MAX_RECORDS,
    commitMaxBytes: config.COMMIT_MAX_BYTES,
    infraRetryMaxMs: config.INFRA_RETRY_MAX_MS,
    signal: shutdown.signal,
  });

  const consumer: Consumer = kafka.consumer({
    groupId: config.CONSUMER_GROUP,
    // A batch in progress heartbeats on a timer (heartbeats.ts); a member
    // silent for the session timeout is presumed dead and its partitions move.
    sessionTimeout: config.SESSION_TIMEOUT_MS,
    heartbeatInterval: Math.min(3000, Math.floor(config.SESSION_TIMEOUT_MS / 10)),
    maxWaitTimeInMs: FETCH_SETTINGS.maxWaitTimeInMs,
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    health.joined();
    metrics.keepLagOf(payload.memberAssignment);
    logger.info({ assignment: payload.memberAssignment }, 'joined the consumer group');
    processor.openLanes(config.ORDERS_TOPIC, payload.memberAssignment[config.ORDERS_TOPIC] ?? []);
    // Topics may have changed while the group was rebalancing.
    destinations
      .refresh()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not read the partitions of the output topics'));
  });
  consumer.on(consumer.events.REBALANCING, () => {
    health.rebalancing();
    void processor.closeLanes();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      logger.error({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    health.crashed(payload.error);
    logger.fatal({ err: payload.error }, 'consumer crashed and kafkajs will not restart it');
    onFatal(payload.error);
  });

  await consumer.connect();
  // Retry topics are read in both modes, so records left there by a run in
  // topics mode are still processed after a switch to blocking mode.
  await consumer.subscribe({ topics: [config.ORDERS_TOPIC, ...retryTopics.topics], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: FETCH_SETTINGS.partitionsConsumedConcurrently,
    eachBatch: (payload) => processor.handleBatch(payload),
  });

  const ops: OpsServer = await startOpsServer(config.HTTP_PORT, metrics.registry, () => health.status());
  logger.info({ group: config.CONSUMER_GROUP, mode: config.RETRY_MODE, httpPort: ops.port }, 'consumer started');

  return {
    httpPort: ops.port,
    async stop() {
      shutdown.abort();
      processor.cancelResumes();
      await consumer.disconnect();
      await processor.closeLanes();
      await statsReader.stop();
      await admin.disconnect();
      await ops.close();
    },
  };
}
