// Follows the compacted order-stats topic (read_committed, from the
// beginning, never committing: a TopicFollower) and keeps the latest record
// per key. The consumer restores a partition's state from it; the DLQ service
// serves the aggregate from it. It knows how far it has read (transaction
// markers included), so a caller can wait until it has read to the end as of
// now (see lane.ts for what is visible there), or until a record it expects
// shows up. A listener can follow every totals record read, with its Kafka
// timestamp: the DLQ service keeps the last hour of the aggregate from them.
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from './logger.ts';
import {
  combineStats,
  parseStatsRecord,
  statsKey,
  type PartitionTotals,
  type ProductTally,
  type StatsView,
  type Tally,
} from './order-stats.ts';
import { TopicFollower } from './topic-follower.ts';

/** order-stats has one partition (topic-init refuses more). */
const PARTITION = 0;

/** A totals record as read, and when it was written (its Kafka timestamp, epoch ms). */
export type TotalsListener = (totals: PartitionTotals, timestamp: number) => void;

export class StatsReader {
  private readonly totals = new Map<string, PartitionTotals>();
  /** Product tallies by the totals key of their partition. */
  private readonly products = new Map<string, Map<string, ProductTally>>();
  private readonly follower: TopicFollower;
  private readonly totalsListeners = new Set<TotalsListener>();

  constructor(
    kafka: Kafka,
    private readonly admin: Admin,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {
    this.follower = new TopicFollower(
      kafka,
      admin,
      topic,
      'order-stats-reader',
      (payload) => this.read(payload),
      logger,
    );
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }

  private async read({ batch }: EachBatchPayload): Promise<void> {
    for (const message of batch.messages) {
      if (message.key === null || message.value === null) continue;
      const record = parseStatsRecord(message.value);
      if (record === undefined) {
        this.logger.warn(
          { offset: message.offset, topic: this.topic },
          'order-stats record of an unknown format; ignored',
        );
        continue;
      }
      const key = statsKey(record.group, record.topic, record.partition);
      if (record.kind === 'totals') {
        this.totals.set(key, record);
        for (const listener of this.totalsListeners) listener(record, Number(message.timestamp));
        continue;
      }
      const products = this.products.get(key) ?? new Map<string, ProductTally>();
      this.products.set(key, products);
      products.set(record.product, record);
    }
  }

  /**
   * Calls `listener` with every totals record read from now on, in the order of the topic (the records read at
   * start too, when it is called before start()).
   */
  onTotals(listener: TotalsListener): void {
    this.totalsListeners.add(listener);
  }

  /** A partition's totals record (undefined when there is none). */
  get(key: string): PartitionTotals | undefined {
    return this.totals.get(key);
  }

  /** A partition's product tallies of its current epoch, as a copy the caller may change. */
  productsOf(key: string): Map<string, Tally> {
    const tallies = new Map<string, Tally>();
    for (const tally of this.currentProducts(key))
      tallies.set(tally.product, { count: tally.count, sumCents: tally.sumCents });
    return tallies;
  }

  private *currentProducts(key: string): Generator<ProductTally> {
    const epoch = this.totals.get(key)?.epoch;
    for (const tally of this.products.get(key)?.values() ?? []) if (tally.epoch === epoch) yield tally;
  }

  /** Totals of one consumer group, without per-product figures (cheap: one record per partition). */
  totalsOf(group: string): Tally & { average: number | null } {
    const { count, sumCents, average } = combineStats(this.groupTotals(group), []);
    return { count, sumCents, average };
  }

  /** Every partition's stats of one consumer group, combined, per product too. */
  view(group: string): StatsView {
    const products: ProductTally[] = [];
    for (const key of this.products.keys()) {
      if (this.totals.get(key)?.group === group) products.push(...this.currentProducts(key));
    }
    return combineStats(this.groupTotals(group), products);
  }

  private groupTotals(group: string): PartitionTotals[] {
    return [...this.totals.values()].filter((totals) => totals.group === group);
  }

  /**
   * Resolves once this reader has read the topic up to its last stable offset
   * as of now (every record visible to read_committed readers now), or
   * rejects when the deadline passes first.
   */
  async readToEnd(timeoutMs: number): Promise<void> {
    const end = (await this.admin.fetchTopicOffsets(this.topic)).find((p) => p.partition === PARTITION);
    const offset = BigInt(end?.high ?? '0');
    await this.until(
      () => this.follower.position(PARTITION) >= offset || undefined,
      timeoutMs,
      () =>
        `order-stats reader is at offset ${this.follower.position(PARTITION)}, ` +
        `not yet at ${offset}, after ${timeoutMs} ms`,
    );
  }

  /** Resolves with a partition's totals once `accept` holds for them, or rejects when the deadline passes first. */
  waitFor(key: string, accept: (totals: PartitionTotals) => boolean, timeoutMs: number): Promise<PartitionTotals> {
    return this.until(
      () => {
        const totals = this.totals.get(key);
        return totals !== undefined && accept(totals) ? totals : undefined;
      },
      timeoutMs,
      () => `order-stats has no acceptable totals for ${key} after ${timeoutMs} ms`,
    );
  }

  /**
   * Resolves with `check`'s first value other than undefined, checked after each batch read, or rejects at the
   * deadline.
   */
  private until<T>(check: () => T | undefined, timeoutMs: number, timedOut: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        const value = check();
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(timedOut()));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        stopWaking();
      };
      const stopWaking = this.follower.onProgress(wake);
      wake();
    });
  }
}
