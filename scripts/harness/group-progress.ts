// Whether a consumer group has finished a topic: what tests, scenarios and
// benchmarks wait for before they compare outcomes.
import type { Admin } from 'kafkajs';

/**
 * True once `group` has committed every partition of `topic` to its end.
 * `markerSlack` is 1 for topics written in transactions: their end is one
 * past the final commit marker, which a consumer never sees.
 */
export async function caughtUp(admin: Admin, group: string, topic: string, markerSlack: 0 | 1 = 0): Promise<boolean> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return ends.every((end) => {
    if (end.high === end.low) return true;
    const offset = BigInt(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1');
    return offset >= BigInt(end.high) - BigInt(markerSlack);
  });
}
