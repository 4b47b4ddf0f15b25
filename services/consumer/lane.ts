// A lane is this consumer's hold on one input topic-partition: a
// transactional producer whose id belongs to that partition, and the
// partition's aggregate as of its last commit. Every commit puts, in one Kafka
// transaction, the partition's dead letters (and retry records), its new
// order-stats records and the consumed offset. So an order is counted once or
// dead-lettered once, never both, whatever crashes in between.
//
// Opening a lane fences any earlier producer of the same partition (a crashed
// or stale member): its open transaction is aborted before we read the
// committed offset, and the state we restore is the order-stats totals record
// written in the same transaction as that offset. When the two disagree, the
// group's offset was moved outside the consumer (an operator's
// --reset-offsets, expired offsets): STATS_ON_OFFSET_RESET decides what the
// aggregate does, and the decision is committed at once so it is made once.
import type { Admin, Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import {
  countOrders,
  emptyTotals,
  productKey,
  statsKey,
  type PartitionTotals,
  type StatsUpdate,
  type Tally,
} from '../lib/order-stats.ts';
import { TRANSACTIONAL_SETTINGS } from '../lib/kafka.ts';
import type { Order } from '../lib/order.ts';
import { recordBytes } from '../lib/record-size.ts';
import type { StatsReader } from '../lib/stats-reader.ts';

/** What the aggregate does when the committed offset is not the one the stored aggregate accounts up to. */
export type OffsetResetPolicy = 'keep' | 'zero';

export interface OffsetReset {
  topic: string;
  partition: number;
  /** The group's committed offset ("-1": none). */
  committed: string;
  /** The offset the stored aggregate accounts up to ("-1": none stored). */
  stored: string;
  policy: OffsetResetPolicy;
}

export interface LaneDeps {
  kafka: Kafka;
  admin: Admin;
  statsReader: StatsReader;
  group: string;
  statsTopic: string;
  restoreTimeoutMs: number;
  offsetResetPolicy: OffsetResetPolicy;
  onOffsetReset(reset: OffsetReset): void;
}

/** A lane's transaction that is left open (its owner crashed) is aborted by the coordinator after this. */
const TRANSACTION_TIMEOUT_MS = 60_000;
/** Beyond the transaction timeout, time for the coordinator to abort and the reader to fetch. */
const HIDDEN_RECORD_SLACK_MS = 10_000;

/** Records to write, per topic, in the same transaction (dead letters, retries). */
export type OutgoingRecords = Map<string, Message[]>;

/** A send that did not reach a partition it was routed to: never a silent success. */
export class UnwrittenRecordsError extends Error {
  constructor(topic: string, partitions: number[]) {
    super(
      `records for ${topic} partition(s) ${partitions.join(', ')} were not written (no such partition or no leader)`,
    );
    this.name = 'UnwrittenRecordsError';
  }
}

export class PartitionLane {
  private constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly producer: Producer,
    private totals: PartitionTotals,
    private readonly products: Map<string, Tally>,
    private readonly deps: LaneDeps,
  ) {}

  static async open(deps: LaneDeps, topic: string, partition: number): Promise<PartitionLane> {
    const producer = deps.kafka.producer({
      ...TRANSACTIONAL_SETTINGS,
      transactionalId: `${deps.group}.${topic}.${partition}`,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
    });
    await producer.connect();
    try {
      // The first transaction initialises the producer id: this fences the
      // previous owner and waits for its open transaction to be aborted.
      await (await producer.transaction()).abort();
      const committed = await committedOffset(deps.admin, deps.group, topic, partition);
      // Read order-stats up to its last stable offset. A record above an
      // earlier transaction still open (another lane's) stays hidden until
      // that one ends.
      await deps.statsReader.readToEnd(deps.restoreTimeoutMs);
      const key = statsKey(deps.group, topic, partition);
      let stored = deps.statsReader.get(key);
      if (BigInt(stored?.nextOffset ?? '-1') < BigInt(committed)) {
        // The record written with the committed offset may be one of those
        // hidden ones: wait until any transaction open now must have ended
        // (committed, aborted by its fenced owner, or timed out) before
        // calling it an offset moved forward. Moved back needs no wait: the
        // totals of a partition only grow, so a stored offset past the
        // committed one was never written with it.
        stored = await deps.statsReader
          .waitFor(key, (found) => found.nextOffset === committed, TRANSACTION_TIMEOUT_MS + HIDDEN_RECORD_SLACK_MS)
          .catch(() => deps.statsReader.get(key));
      }
      const storedOffset = stored?.nextOffset ?? '-1';
      if (storedOffset === committed) {
        const totals = stored ?? emptyTotals(deps.group, topic, partition);
        return new PartitionLane(topic, partition, producer, totals, deps.statsReader.productsOf(key), deps);
      }
      const policy = deps.offsetResetPolicy;
      deps.onOffsetReset({ topic, partition, committed, stored: storedOffset, policy });
      const lane =
        policy === 'keep' && stored !== undefined
          ? new PartitionLane(topic, partition, producer, stored, deps.statsReader.productsOf(key), deps)
          : new PartitionLane(topic, partition, producer, resetTotals(deps, topic, partition, stored), new Map(), deps);
      // Stored at once: the next open finds them in step and decides nothing again.
      await lane.commit([], new Map(), BigInt(committed));
      return lane;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** Records before this offset are already accounted for (counted or dead-lettered). */
  get nextOffset(): bigint {
    return BigInt(this.totals.nextOffset);
  }

  /**
   * At least the bytes of an order-stats record a commit writes: the totals
   * record, or with `product` that product's record (largest possible
   * figures), so a commit can be sized before it is built.
   */
  statsRecordBytes(product?: string): number {
    const { group } = this.deps;
    const largest = Number.MAX_SAFE_INTEGER;
    // Kafka offsets go up to 2^63 - 1: 19 digits.
    const figures = { epoch: largest, count: largest, sumCents: largest, nextOffset: '9223372036854775807' };
    const key =
      product === undefined
        ? statsKey(group, this.topic, this.partition)
        : productKey(group, this.topic, this.partition, product);
    return recordBytes({ key, value: JSON.stringify({ ...this.totals, ...figures, product }) });
  }

  /**
   * Makes the outcome of every record before `nextOffset` durable, atomically
   * (`nextOffset` -1: no offset to commit, only the aggregate). On failure
   * nothing is durable and the lane must be closed and reopened (the
   * in-memory state may no longer match what Kafka holds).
   */
  async commit(processed: readonly Order[], outgoing: OutgoingRecords, nextOffset: bigint): Promise<void> {
    const update = countOrders(this.totals, this.products, processed, nextOffset.toString());
    const transaction = await this.producer.transaction();
    try {
      for (const [topic, messages] of outgoing) {
        if (messages.length > 0) checkWritten(topic, messages, await transaction.send({ topic, messages }));
      }
      await transaction.send({ topic: this.deps.statsTopic, messages: this.statsMessages(update) });
      if (nextOffset >= 0n) {
        await transaction.sendOffsets({
          consumerGroupId: this.deps.group,
          topics: [{ topic: this.topic, partitions: [{ partition: this.partition, offset: nextOffset.toString() }] }],
        });
      }
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
    this.totals = update.totals;
    for (const { product, count, sumCents } of update.products) this.products.set(product, { count, sumCents });
  }

  /** The order-stats records of an update: changed products first, then the totals. */
  private statsMessages({ totals, products }: StatsUpdate): Message[] {
    const { group } = this.deps;
    return [
      ...products.map((tally) => ({
        key: productKey(group, this.topic, this.partition, tally.product),
        value: JSON.stringify(tally),
        partition: 0,
      })),
      { key: statsKey(group, this.topic, this.partition), value: JSON.stringify(totals), partition: 0 },
    ];
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }
}

/** Totals that start again from zero at the committed offset, in a new epoch (older product records stop counting). */
function resetTotals(
  deps: LaneDeps,
  topic: string,
  partition: number,
  stored: PartitionTotals | undefined,
): PartitionTotals {
  return emptyTotals(deps.group, topic, partition, (stored?.epoch ?? -1) + 1);
}

/**
 * kafkajs silently leaves out records routed to a partition it has no
 * metadata for (no request, no error): every partition a record was routed
 * to must be in the broker's answer.
 */
function checkWritten(topic: string, messages: readonly Message[], written: readonly RecordMetadata[]): void {
  const acknowledged = new Set(written.filter((meta) => meta.errorCode === 0).map((meta) => meta.partition));
  const routed = new Set(messages.map((message) => message.partition).filter((p): p is number => p !== undefined));
  const missing = [...routed].filter((partition) => !acknowledged.has(partition));
  if (missing.length > 0 || written.length === 0) throw new UnwrittenRecordsError(topic, missing);
}

async function committedOffset(admin: Admin, group: string, topic: string, partition: number): Promise<string> {
  const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return entry?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
}
