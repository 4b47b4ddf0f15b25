// Sends planned records to the orders topic: Avro through the registry, key =
// orderId, acks=all with the idempotent producer, so a broker retry never
// writes an order twice.
import type { Message, Producer } from 'kafkajs';
import { Counter, Registry } from 'prom-client';
import type { Serde } from '../lib/serde.ts';
import type { Category, PlannedRecord } from './orders.ts';

/** The producer's client settings: idempotent (so a broker retry never duplicates), up to five requests in flight. */
export const PRODUCER_SETTINGS = { idempotent: true, maxInFlightRequests: 5 } as const;
/** Records per send when there is no interval between them. */
export const SEND_BATCH = 500;

export interface GroundTruth {
  schemaId: number;
  sent: number;
  /** Keys per category, in the order they were sent. */
  keys: Record<Category, string[]>;
  /** The orders that carry a valid order (valid and transient), for aggregates. */
  orders: { orderId: string; product: string; price: number; category: 'valid' | 'transient' }[];
  failTimes: number;
}

export class OrderSender {
  readonly registry = new Registry();
  private readonly sentCounter = new Counter({
    name: 'orders_produced_total',
    help: 'Records acknowledged by Kafka, by category',
    labelNames: ['category'],
    registers: [this.registry],
  });
  private readonly errorCounter = new Counter({ name: 'orders_produce_errors_total', help: 'Sends that failed', registers: [this.registry] });

  readonly truth: GroundTruth;

  constructor(
    private readonly producer: Producer,
    private readonly serde: Serde,
    private readonly topic: string,
    schemaId: number,
    failTimes: number,
  ) {
    this.truth = { schemaId, sent: 0, keys: { valid: [], invalid: [], poison: [], transient: [] }, orders: [], failTimes };
  }

  /** Records whose send failed. */
  errors = 0;

  async send(records: readonly PlannedRecord[]): Promise<void> {
    const messages: Message[] = await Promise.all(
      records.map(async (record) => ({
        key: record.key,
        value: record.poison ? record.poison.bytes(this.truth.schemaId) : await this.serde.encode(this.truth.schemaId, record.order),
        headers: record.headers,
      })),
    );
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages });
    } catch (error) {
      this.errors += records.length;
      this.errorCounter.inc(records.length);
      throw error;
    }
    for (const record of records) {
      this.truth.sent += 1;
      this.truth.keys[record.category].push(record.key);
      this.sentCounter.inc({ category: record.category });
      if ((record.category === 'valid' || record.category === 'transient') && record.order) {
        this.truth.orders.push({ ...record.order, category: record.category });
      }
    }
  }
}
