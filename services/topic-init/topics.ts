// What topic-init creates, and the idempotent creation itself, including the
// partition counts the consumer relies on.
import type { Admin, ITopicConfig } from 'kafkajs';
import type { ServiceConfig } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { retryTopicName } from '../lib/topics.ts';

export interface TopicSpec {
  topic: string;
  replicationFactor: number;
  configs: Record<string, string>;
}

/** The topics, grouped by how their partition count follows the orders topic's. */
export interface TopicPlan {
  /**
   * The orders topic and its partitions when topic-init creates it. Once it
   * exists, its actual count is the reference: it may have been created or
   * grown with another count on purpose.
   */
  input: TopicSpec & { partitions: number };
  /**
   * Retry topics and the DLQ. The consumer writes a retry record or dead
   * letter to the partition number its order came from, and kafkajs drops a
   * record for a partition that does not exist: never fewer than the input.
   */
  perInputPartition: TopicSpec[];
  /**
   * Stats and replays: exactly one partition, as their state is written to
   * partition 0 and restored by reading one partition in order.
   */
  single: TopicSpec[];
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

export function topicPlan(config: ServiceConfig<'topic-init'>): TopicPlan {
  const replicationFactor = config.REPLICATION_FACTOR;
  const minIsr = String(Math.max(1, replicationFactor - 1));
  const topic = (name: string, configs: Record<string, string>): TopicSpec => ({
    topic: name,
    replicationFactor,
    configs: { 'min.insync.replicas': minIsr, ...configs },
  });
  return {
    input: { ...topic(config.ORDERS_TOPIC, {}), partitions: config.ORDERS_PARTITIONS },
    perInputPartition: [
      // Kept long enough to be inspected and replayed.
      topic(config.DLQ_TOPIC, { 'retention.ms': String(config.DLQ_RETENTION_MS) }),
      // One retry topic per backoff step; retention far above any delay.
      ...Array.from({ length: config.MAX_RETRIES }, (_, i) =>
        topic(retryTopicName(config.ORDERS_TOPIC, i + 1), { 'retention.ms': String(WEEK_MS) }),
      ),
    ],
    // Latest value per key is all that matters: compacted, so a restore reads a small log.
    single: [
      topic(config.STATS_TOPIC, { 'cleanup.policy': 'compact', 'segment.ms': String(600_000) }),
      topic(config.REPLAYS_TOPIC, { 'cleanup.policy': 'compact', 'segment.ms': String(600_000) }),
    ],
  };
}

export interface EnsureResult {
  created: string[];
  existing: string[];
  /** Partitions of the orders topic, which the retry topics and the DLQ now have at least. */
  ordersPartitions: number;
  /** Retry topics and DLQ that had fewer partitions than the orders topic. */
  grown: { topic: string; from: number; to: number }[];
}

export type TopicAdmin = Pick<Admin, 'listTopics' | 'fetchTopicMetadata' | 'createTopics' | 'createPartitions'>;

/**
 * Creates the topics that are missing and grows a retry topic or DLQ that has
 * fewer partitions than the orders topic; nothing else is altered. Throws,
 * naming each topic and its count, when one cannot be grown or a single
 * partition topic has more than one.
 */
export async function ensureTopics(admin: TopicAdmin, plan: TopicPlan, logger: Logger): Promise<EnsureResult> {
  const { input, perInputPartition, single } = plan;
  const present = new Set(await admin.listTopics());
  const all = [input, ...perInputPartition, ...single];
  const existing = all.filter((spec) => present.has(spec.topic));
  const counts = await partitionCounts(
    admin,
    existing.map((spec) => spec.topic),
  );
  const ordersPartitions = counts.get(input.topic) ?? input.partitions;

  const toCreate: ITopicConfig[] = [
    ...(present.has(input.topic) ? [] : [topicConfig(input, input.partitions)]),
    ...perInputPartition.filter((spec) => !present.has(spec.topic)).map((spec) => topicConfig(spec, ordersPartitions)),
    ...single.filter((spec) => !present.has(spec.topic)).map((spec) => topicConfig(spec, 1)),
  ];
  if (toCreate.length > 0) await admin.createTopics({ topics: toCreate, waitForLeaders: true });

  const grown: EnsureResult['grown'] = [];
  const problems: string[] = [];
  for (const { topic } of perInputPartition) {
    const from = counts.get(topic);
    if (from === undefined || from >= ordersPartitions) continue;
    // One topic per request: the broker answers per topic, but kafkajs
    // reports only the first error, without saying whose.
    try {
      await admin.createPartitions({ topicPartitions: [{ topic, count: ordersPartitions }] });
    } catch (error) {
      problems.push(
        `${topic} has ${from} partitions, fewer than the ${ordersPartitions} of ${input.topic}, ` +
          `and could not be grown: ${(error as Error).message}`,
      );
      continue;
    }
    logger.warn({ topic, from, to: ordersPartitions }, `grew topic to the partition count of ${input.topic}`);
    grown.push({ topic, from, to: ordersPartitions });
  }
  for (const { topic } of single) {
    const count = counts.get(topic);
    if (count !== undefined && count > 1) {
      problems.push(`${topic} has ${count} partitions; it must have exactly 1, as its state is restored from one`);
    }
  }
  if (problems.length > 0) throw new Error(`topics with unusable partition counts: ${problems.join('; ')}`);

  return {
    created: toCreate.map((config) => config.topic),
    existing: existing.map((spec) => spec.topic),
    ordersPartitions,
    grown,
  };
}

function topicConfig({ topic, replicationFactor, configs }: TopicSpec, numPartitions: number): ITopicConfig {
  return {
    topic,
    numPartitions,
    replicationFactor,
    configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
  };
}

async function partitionCounts(admin: TopicAdmin, topics: string[]): Promise<Map<string, number>> {
  if (topics.length === 0) return new Map();
  const metadata = await admin.fetchTopicMetadata({ topics });
  return new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
}
