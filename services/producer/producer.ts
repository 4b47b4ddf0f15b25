// Sends planned records to the orders topic: Avro through the registry, key =
// orderId, acks=all with the idempotent producer, so a broker retry never
// writes an order twice.
import type { Message, Producer } from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import type { Serde } from '../lib/serde.ts';
import type { Category, PlannedRecord } from './orders.ts';

export interface GroundTruth {
  schemaId: number;
  sent: number;
  /** Keys per category, in the order they were sent. */
  keys: Record<Category, string[]>;
  /** The orders that carry a valid order (valid and transient), for aggregates. */
  orders: { orderId: string; product: string; price: number; category: 'valid' | 'transient' }[];
  failTimes: number;
}

/** What a sender keeps of every record it sent, for the ground truth. */
type SentRecords = Pick<GroundTruth, 'keys' | 'orders'>;

export class OrderSender {
  readonly registry = new Registry();
  private readonly sentCounter = new Counter({
    name: 'orders_produced_total',
    help: 'Records acknowledged by Kafka, by category',
    labelNames: ['category'],
    registers: [this.registry],
  });
  private readonly errorCounter = new Counter({
    name: 'orders_produce_errors_total',
    help: 'Sends that failed',
    registers: [this.registry],
  });

  /** Records acknowledged by Kafka. */
  sent = 0;
  /** Records whose send failed. */
  errors = 0;
  /**
   * Every record sent, only when the run's ground truth is wanted: it grows with each record, so a long or
   * endless run without it keeps nothing but the counters.
   */
  private readonly kept: SentRecords | undefined;
  private readonly failTimes: number;

  constructor(
    private readonly producer: Producer,
    private readonly serde: Serde,
    private readonly topic: string,
    private readonly schemaId: number,
    options: { failTimes: number; keepTruth: boolean },
  ) {
    this.failTimes = options.failTimes;
    const nothingYet: SentRecords = { keys: { valid: [], invalid: [], poison: [], transient: [] }, orders: [] };
    this.kept = options.keepTruth ? nothingYet : undefined;
  }

  /** The run's ground truth so far; only a sender created with keepTruth has one. */
  groundTruth(): GroundTruth {
    if (this.kept === undefined) throw new Error('this sender keeps no ground truth: create it with keepTruth');
    return { schemaId: this.schemaId, sent: this.sent, ...this.kept, failTimes: this.failTimes };
  }

  async send(records: readonly PlannedRecord[]): Promise<void> {
    const messages: Message[] = [];
    for (const record of records) {
      // At once once the schema is known; the registry is asked for the first record only.
      const value = record.poison
        ? record.poison.bytes(this.schemaId)
        : (this.serde.encodeKnown(this.schemaId, record.order) ??
          (await this.serde.encode(this.schemaId, record.order)));
      messages.push({ key: record.key, value, headers: record.headers });
    }
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages });
    } catch (error) {
      this.errors += records.length;
      this.errorCounter.inc(records.length);
      throw error;
    }
    const sent = new Map<Category, number>();
    for (const record of records) {
      sent.set(record.category, (sent.get(record.category) ?? 0) + 1);
      if (this.kept) keep(this.kept, record);
    }
    this.sent += records.length;
    for (const [category, count] of sent) this.sentCounter.inc({ category }, count);
  }
}

function keep(kept: SentRecords, record: PlannedRecord): void {
  kept.keys[record.category].push(record.key);
  if ((record.category === 'valid' || record.category === 'transient') && record.order) {
    kept.orders.push({ ...record.order, category: record.category });
  }
}
