// The outcomes of a partition's records since its last commit, sized so that
// one commit always fits in Kafka. A transaction writes each partition's
// records as one record batch, which the broker refuses past the topic's
// max.message.bytes, and a commit refused for size would be retried for
// ever. So the bytes of everything the commit will write (dead letters,
// retry records, order-stats records, with their framing) are counted as
// outcomes are added, and a commit is due before an outcome would take them
// past COMMIT_MAX_BYTES, or once COMMIT_MAX_RECORDS records are covered.
import type { Message } from 'kafkajs';
import type { FailureClass } from '../lib/dlq.ts';
import type { Order } from '../lib/order.ts';
import { recordBytes } from '../lib/record-size.ts';
import type { OutgoingRecords, PartitionLane } from './lane.ts';

export type Outcome =
  | { kind: 'processed'; order: Order }
  | { kind: 'dead-letter'; topic: string; message: Message; failureClass: FailureClass }
  | { kind: 'retry'; topic: string; message: Message };

/** What a commit made durable, for the counters (which must not run ahead of commits). */
export interface Committed {
  processed: number;
  retried: number;
  deadLettered: Map<FailureClass, number>;
  /** The offset after the last record covered. */
  nextOffset: bigint;
}

export class PendingCommit {
  private readonly processed: Order[] = [];
  private readonly outgoing: OutgoingRecords = new Map();
  private readonly products = new Set<string>();
  private readonly deadLettered = new Map<FailureClass, number>();
  private retried = 0;
  private records = 0;
  private bytes: number;
  private lastOffset: string | undefined;

  constructor(
    private readonly lane: PartitionLane,
    private readonly limits: { maxBytes: number; maxRecords: number },
  ) {
    this.bytes = lane.statsRecordBytes();
  }

  get isEmpty(): boolean {
    return this.lastOffset === undefined;
  }

  get isFull(): boolean {
    return this.records >= this.limits.maxRecords;
  }

  /**
   * Adds the outcome of the record at `offset`, unless it would take this
   * commit past COMMIT_MAX_BYTES: then it belongs in the next commit and
   * false is returned. The first outcome of a commit is always taken.
   */
  tryAdd(outcome: Outcome, offset: string): boolean {
    const bytes = this.bytesOf(outcome);
    if (!this.isEmpty && this.bytes + bytes > this.limits.maxBytes) return false;
    this.bytes += bytes;
    if (outcome.kind === 'processed') {
      this.processed.push(outcome.order);
      this.products.add(outcome.order.product);
    } else {
      const records = this.outgoing.get(outcome.topic) ?? [];
      records.push(outcome.message);
      this.outgoing.set(outcome.topic, records);
      if (outcome.kind === 'retry') this.retried += 1;
      else this.deadLettered.set(outcome.failureClass, (this.deadLettered.get(outcome.failureClass) ?? 0) + 1);
    }
    this.records += 1;
    this.lastOffset = offset;
    return true;
  }

  /** Makes every outcome durable in one transaction (see PartitionLane.commit); undefined when there was nothing. */
  async commit(): Promise<Committed | undefined> {
    if (this.lastOffset === undefined) return undefined;
    const nextOffset = BigInt(this.lastOffset) + 1n;
    await this.lane.commit(this.processed, this.outgoing, nextOffset);
    return { processed: this.processed.length, retried: this.retried, deadLettered: this.deadLettered, nextOffset };
  }

  private bytesOf(outcome: Outcome): number {
    if (outcome.kind !== 'processed') return recordBytes(outcome.message);
    const { product } = outcome.order;
    return this.products.has(product) ? 0 : this.lane.statsRecordBytes(product);
  }
}
