// Wires the consumer: stats reader, lanes, processor, kafkajs consumer,
// metrics and health. Used by main.ts and imported by tests.
import type { Consumer } from 'kafkajs';
import type { ServiceConfig } from '../lib/config.ts';
import { connectAdmin, createKafka } from '../lib/kafka.ts';
import type { Logger } from '../lib/logger.ts';
import { startOpsServer, type OpsServer } from '../lib/ops-server.ts';
import { Serde } from '../lib/serde.ts';
import { StatsReader } from '../lib/stats-reader.ts';
import { createConsumerMetrics } from './metrics.ts';
import { OrderProcessor } from './processor.ts';
import { RetryTopics } from './retry-topics.ts';

/** How the consumer fetches: a long poll of at most 250 ms, up to 8 partitions' batches processed at once. */
export const FETCH_SETTINGS = { maxWaitTimeInMs: 250, partitionsConsumedConcurrently: 8 } as const;

export interface RunningConsumer {
  httpPort: number;
  stop(): Promise<void>;
}

export async function startConsumer(config: ServiceConfig<'consumer'>, logger: Logger): Promise<RunningConsumer> {
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `order-consumer-${process.pid}`, logger });
  const admin = await connectAdmin(kafka, config.KAFKA_BROKERS, 60_000);
  const { topics: dlqMetadata } = await admin.fetchTopicMetadata({ topics: [config.DLQ_TOPIC] });
  const statsReader = new StatsReader(kafka, config.STATS_TOPIC, logger);
  await statsReader.start();

  const shutdown = new AbortController();
  const metrics = createConsumerMetrics(() => statsReader.view(config.CONSUMER_GROUP));
  const retryTopics = new RetryTopics(config.ORDERS_TOPIC, config.MAX_RETRIES);
  const processor = new OrderProcessor({
    lanes: { kafka, admin, statsReader, group: config.CONSUMER_GROUP, statsTopic: config.STATS_TOPIC, restoreTimeoutMs: config.RESTORE_TIMEOUT_MS },
    serde: new Serde(config.SCHEMA_REGISTRY_URL),
    logger,
    metrics,
    policy: {
      baseMs: config.RETRY_BASE_MS,
      factor: config.RETRY_FACTOR,
      maxMs: config.RETRY_MAX_MS,
      jitter: config.RETRY_JITTER,
      maxRetries: config.MAX_RETRIES,
    },
    mode: config.RETRY_MODE as 'blocking' | 'topics',
    retryTopics,
    dlqTopic: config.DLQ_TOPIC,
    dlqPartitions: dlqMetadata[0]?.partitions.length ?? 0,
    downstream: { faultInjection: config.FAULT_INJECTION, latencyMs: config.DOWNSTREAM_LATENCY_MS },
    commitMaxRecords: config.COMMIT_MAX_RECORDS,
    commitMaxBytes: config.COMMIT_MAX_BYTES,
    infraRetryMaxMs: config.INFRA_RETRY_MAX_MS,
    signal: shutdown.signal,
  });

  let member = false;
  const consumer: Consumer = kafka.consumer({
    groupId: config.CONSUMER_GROUP,
    // Retry waits heartbeat every second; a member that stops doing so for
    // the session timeout is presumed dead and its partitions move.
    sessionTimeout: config.SESSION_TIMEOUT_MS,
    heartbeatInterval: Math.min(3000, Math.floor(config.SESSION_TIMEOUT_MS / 10)),
    maxWaitTimeInMs: FETCH_SETTINGS.maxWaitTimeInMs,
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    member = true;
    logger.info({ assignment: payload.memberAssignment }, 'joined the consumer group');
  });
  consumer.on(consumer.events.REBALANCING, () => {
    member = false;
    void processor.closeLanes();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed'));

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

  const ops: OpsServer = await startOpsServer(config.HTTP_PORT, metrics.registry, () => ({ ok: member, member, mode: config.RETRY_MODE }));
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
