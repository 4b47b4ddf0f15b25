// A lane is this consumer's hold on one input topic-partition: a
// transactional producer whose id belongs to that partition, and the
// partition's aggregate as of its last commit. Every commit puts, in one Kafka
// transaction, the partition's dead letters (and retry records), its new
// order-stats record and the consumed offset. So an order is counted once or
// dead-lettered once, never both, whatever crashes in between.
//
// Opening a lane fences any earlier producer of the same partition (a crashed
// or stale member): its open transaction is aborted before we read the
// committed offset, and the state we restore is the order-stats record written
// in the same transaction as that offset.
import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { emptyStats, statsKey, withOrders, type PartitionStats } from '../lib/order-stats.ts';
import type { Order } from '../lib/order.ts';
import type { StatsReader } from '../lib/stats-reader.ts';

export interface LaneDeps {
  kafka: Kafka;
  admin: Admin;
  statsReader: StatsReader;
  group: string;
  statsTopic: string;
  restoreTimeoutMs: number;
}

/** Records to write, per topic, in the same transaction (dead letters, retries). */
export type OutgoingRecords = Map<string, Message[]>;

export class PartitionLane {
  private constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly producer: Producer,
    private stats: PartitionStats,
    private readonly deps: LaneDeps,
  ) {}

  static async open(deps: LaneDeps, topic: string, partition: number): Promise<PartitionLane> {
    const producer = deps.kafka.producer({
      transactionalId: `${deps.group}.${topic}.${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      // A transaction that starts while the coordinator still writes the
      // previous one's commit markers is refused with CONCURRENT_TRANSACTIONS,
      // which clears within milliseconds. kafkajs's first retry would come
      // after 300 ms, on every such refusal: latency spikes of a third of a
      // second and idle lanes. Retry after 5 ms instead, doubling up to 10 s:
      // about 40 s of retries in all. That bound is deliberate, and kafkajs's
      // warning that limited retries "may invalidate EoS guarantees" does not
      // apply: when the retries run out the processor reopens the lane, which
      // fences this producer and aborts its open transaction, and redoes the
      // batch from what is committed (kafkajs's default would retry for ever).
      retry: { initialRetryTime: 5, maxRetryTime: 10_000, retries: 14 },
    });
    await producer.connect();
    try {
      // The first transaction initialises the producer id: this fences the
      // previous owner and waits for its open transaction to be aborted.
      await (await producer.transaction()).abort();
      const committed = await committedOffset(deps.admin, deps.group, topic, partition);
      const key = statsKey(deps.group, topic, partition);
      const stats =
        committed === '-1'
          ? emptyStats(deps.group, topic, partition)
          : await deps.statsReader.waitFor(key, (found) => found?.nextOffset === committed, deps.restoreTimeoutMs);
      return new PartitionLane(topic, partition, producer, stats ?? emptyStats(deps.group, topic, partition), deps);
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Records before this offset are already accounted for (counted or dead-lettered). */
  get nextOffset(): bigint {
    return BigInt(this.stats.nextOffset);
  }

  get current(): PartitionStats {
    return this.stats;
  }

  /**
   * Makes the outcome of every record before `nextOffset` durable, atomically.
   * On failure nothing is durable and the lane must be closed and reopened
   * (the in-memory state may no longer match what Kafka holds).
   */
  async commit(processed: readonly Order[], outgoing: OutgoingRecords, nextOffset: bigint): Promise<void> {
    const next = withOrders(this.stats, processed, nextOffset.toString());
    const transaction = await this.producer.transaction();
    try {
      for (const [topic, messages] of outgoing) {
        if (messages.length > 0) await transaction.send({ topic, messages });
      }
      await transaction.send({
        topic: this.deps.statsTopic,
        messages: [{ key: statsKey(this.deps.group, this.topic, this.partition), value: JSON.stringify(next), partition: 0 }],
      });
      await transaction.sendOffsets({
        consumerGroupId: this.deps.group,
        topics: [{ topic: this.topic, partitions: [{ partition: this.partition, offset: nextOffset.toString() }] }],
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
    this.stats = next;
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}

async function committedOffset(admin: Admin, group: string, topic: string, partition: number): Promise<string> {
  const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return entry?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
}
