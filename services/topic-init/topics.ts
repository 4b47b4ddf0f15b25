// What topic-init creates, and the idempotent creation itself.
import type { Admin, ITopicConfig } from 'kafkajs';
import type { ServiceConfig } from '../lib/config.ts';
import { retryTopicName } from '../lib/topics.ts';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

export function topicPlan(config: ServiceConfig<'topic-init'>): TopicSpec[] {
  const partitions = config.ORDERS_PARTITIONS;
  const replicationFactor = config.REPLICATION_FACTOR;
  const minIsr = String(Math.max(1, replicationFactor - 1));
  const topic = (name: string, numPartitions: number, configs: Record<string, string>): TopicSpec => ({
    topic: name,
    numPartitions,
    replicationFactor,
    configs: { 'min.insync.replicas': minIsr, ...configs },
  });
  return [
    topic(config.ORDERS_TOPIC, partitions, {}),
    // As many partitions as the input, so a dead letter can keep its
    // original partition; kept long enough to be inspected and replayed.
    topic(config.DLQ_TOPIC, partitions, { 'retention.ms': String(config.DLQ_RETENTION_MS) }),
    // One retry topic per backoff step; retention far above any delay.
    ...Array.from({ length: config.MAX_RETRIES }, (_, i) =>
      topic(retryTopicName(config.ORDERS_TOPIC, i + 1), partitions, { 'retention.ms': String(WEEK_MS) }),
    ),
    // Latest value per key is all that matters: compacted, one partition so a
    // restore reads a single small log.
    topic(config.STATS_TOPIC, 1, { 'cleanup.policy': 'compact', 'segment.ms': String(600_000) }),
    topic(config.REPLAYS_TOPIC, 1, { 'cleanup.policy': 'compact', 'segment.ms': String(600_000) }),
  ];
}

export interface EnsureResult {
  created: string[];
  existing: string[];
  /** Existing topics whose partition count differs from the plan (left as they are). */
  mismatched: { topic: string; expected: number; actual: number }[];
}

/** Creates the topics that are missing; existing ones are never altered. */
export async function ensureTopics(admin: Admin, plan: TopicSpec[]): Promise<EnsureResult> {
  const present = new Set(await admin.listTopics());
  const missing = plan.filter((spec) => !present.has(spec.topic));
  if (missing.length > 0) {
    const topics: ITopicConfig[] = missing.map(({ topic, numPartitions, replicationFactor, configs }) => ({
      topic,
      numPartitions,
      replicationFactor,
      configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
    }));
    await admin.createTopics({ topics, waitForLeaders: true });
  }
  const existing = plan.filter((spec) => present.has(spec.topic));
  const mismatched: EnsureResult['mismatched'] = [];
  if (existing.length > 0) {
    const { topics } = await admin.fetchTopicMetadata({ topics: existing.map((spec) => spec.topic) });
    for (const spec of existing) {
      const actual = topics.find((t) => t.name === spec.topic)?.partitions.length ?? 0;
      if (actual !== spec.numPartitions) mismatched.push({ topic: spec.topic, expected: spec.numPartitions, actual });
    }
  }
  return { created: missing.map((spec) => spec.topic), existing: existing.map((spec) => spec.topic), mismatched };
}
