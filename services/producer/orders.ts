// What the producer sends: random valid orders, and on request scenario inputs
// whose fate is known in advance (invalid, poison, transient), all drawn from
// a seeded generator so a run can be repeated exactly.
import type { IHeaders } from 'kafkajs';
import { FAULT_TRANSIENT_HEADER } from '../consumer/downstream.ts';
import type { Order } from '../lib/order.ts';

export type Category = 'valid' | 'invalid' | 'poison' | 'transient';

export interface PlannedRecord {
  category: Category;
  key: string;
  /** The order to Avro-encode; absent for poison records, which carry raw bytes. */
  order?: Order;
  /** Poison only: how the bytes are broken, and a builder given the real schema id. */
  poison?: { kind: PoisonKind; bytes: (schemaId: number) => Buffer };
  headers: IHeaders;
}

export type PoisonKind = 'not-wire-format' | 'unknown-schema-id' | 'malformed-avro';

const CATALOG: Record<string, [min: number, max: number]> = {
  keyboard: [19, 149],
  mouse: [9, 89],
  monitor: [119, 899],
  laptop: [499, 2999],
  headphones: [29, 399],
  webcam: [25, 199],
  dock: [79, 349],
  chair: [89, 1199],
};
const PRODUCTS = Object.keys(CATALOG);

/** mulberry32: small, fast and good enough for test data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class OrderFactory {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  /** A version 4 UUID drawn from the seeded generator. */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.random() * 16).toString(16));
    hex[12] = '4';
    hex[16] = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
    const s = hex.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** A realistic order: a catalog product at a price in its range, whole cents. */
  order(): Order {
    const product = this.pick(PRODUCTS);
    const [min, max] = CATALOG[product]!;
    const price = Math.round((min + this.random() * (max - min)) * 100) / 100;
    return { orderId: this.uuid(), product, price };
  }

  valid(): PlannedRecord {
    const order = this.order();
    return { category: 'valid', key: order.orderId, order, headers: {} };
  }

  invalid(): PlannedRecord {
    const order = this.order();
    const broken = this.pick<(o: Order) => Order>([
      (o) => ({ ...o, price: -o.price }),
      (o) => ({ ...o, price: Number.NaN }),
      (o) => ({ ...o, price: Number.POSITIVE_INFINITY }),
      (o) => ({ ...o, price: 0 }),
      (o) => ({ ...o, product: '' }),
      // No id to key by: the key stays a tracking id so the run's ground truth can find it.
      (o) => ({ ...o, orderId: '' }),
    ])(order);
    return { category: 'invalid', key: order.orderId, order: broken, headers: {} };
  }

  poison(): PlannedRecord {
    const key = this.uuid();
    const kind = this.pick<PoisonKind>(['not-wire-format', 'unknown-schema-id', 'malformed-avro']);
    const bytes = (schemaId: number): Buffer => {
      switch (kind) {
        case 'not-wire-format':
          return Buffer.from(JSON.stringify({ orderId: key, product: 'keyboard', price: 10 }));
        case 'unknown-schema-id':
          return Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 2, 0x61]);
        case 'malformed-avro': {
          const header = Buffer.alloc(5);
          header.writeInt32BE(schemaId, 1);
          // A string length far past the end of the buffer.
          return Buffer.concat([header, Buffer.from([0xfe, 0xff, 0xff, 0x0f, 0x61])]);
        }
      }
    };
    return { category: 'poison', key, poison: { kind, bytes }, headers: {} };
  }

  transient(failTimes: number): PlannedRecord {
    const order = this.order();
    return { category: 'transient', key: order.orderId, order, headers: { [FAULT_TRANSIENT_HEADER]: String(failTimes) } };
  }

  /** The scenario inputs and `count` valid orders, shuffled together. */
  plan(counts: { valid: number; invalid: number; poison: number; transient: number; failTimes: number }): PlannedRecord[] {
    const records = [
      ...Array.from({ length: counts.valid }, () => this.valid()),
      ...Array.from({ length: counts.invalid }, () => this.invalid()),
      ...Array.from({ length: counts.poison }, () => this.poison()),
      ...Array.from({ length: counts.transient }, () => this.transient(counts.failTimes)),
    ];
    for (let i = records.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.random() * (i + 1));
      [records[i], records[j]] = [records[j]!, records[i]!];
    }
    return records;
  }
}
