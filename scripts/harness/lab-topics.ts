// The topics and consumer group of one isolated lab (an integration test, a
// scenario, a benchmark): every name starts with the lab's own prefix, so
// runs never see each other's data, and the services are pointed at them
// through the same variables compose.yaml sets.
import { randomBytes } from 'node:crypto';

/**
 * A name no other run uses (`<prefix>-<8 hex digits>`), so labs never see each
 * other's topics, groups or schema subjects. Tests start theirs with `it-`,
 * benchmarks with `bench-`.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface LabTopics {
  prefix: string;
  group: string;
  topics: { orders: string; dlq: string; stats: string; replays: string };
}

export function labTopics(prefix: string): LabTopics {
  return {
    prefix,
    group: `${prefix}-group`,
    topics: {
      orders: `${prefix}-orders`,
      dlq: `${prefix}-orders-dlq`,
      stats: `${prefix}-order-stats`,
      replays: `${prefix}-replays`,
    },
  };
}

/** The service variables that point a service at the lab's topics and group. */
export function labTopicEnv({ group, topics }: LabTopics): Record<string, string> {
  return {
    ORDERS_TOPIC: topics.orders,
    DLQ_TOPIC: topics.dlq,
    STATS_TOPIC: topics.stats,
    REPLAYS_TOPIC: topics.replays,
    CONSUMER_GROUP: group,
  };
}
