// What the producer sends: random valid orders, and on request scenario inputs
// whose fate is known in advance (invalid, poison, transient), all drawn from
// a seeded generator so a run can be repeated exactly.
import type { IHeaders } from 'kafkajs';
import { FAULT_TRANSIENT_HEADER } from '../lib/fault-injection.ts';
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

/** How many records of each category a plan holds, and how often a transient one fails. */
export interface PlanCounts {
  valid: number;
  invalid: number;
  poison: number;
  transient: number;
  failTimes: number;
}

/** What a plan mixes in among the valid orders (the few records whose fate is known in advance). */
const SCENARIO_CATEGORIES = ['invalid', 'poison', 'transient'] as const satisfies readonly Category[];

/** The records of one block of an endless run, which its invalid, poison and transient counts are shares of. */
export const ENDLESS_BLOCK = 100;

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
    // Four 32-bit draws (the generator's whole output) make the 128 bits.
    let s = '';
    for (let i = 0; i < 4; i += 1)
      s += Math.floor(this.random() * 0x1_0000_0000)
        .toString(16)
        .padStart(8, '0');
    const variant = ((Number.parseInt(s[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-${variant}${s.slice(17, 20)}-${s.slice(20)}`;
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
    return {
      category: 'transient',
      key: order.orderId,
      order,
      headers: { [FAULT_TRANSIENT_HEADER]: String(failTimes) },
    };
  }

  /**
   * The scenario inputs and `valid` valid orders in a random order, made one at a time as the caller iterates, so
   * a run of any length holds only the record in hand. Each position takes a category with probability
   * proportional to what is left of it: every interleaving is equally likely, and a seed repeats it exactly.
   */
  *plan(counts: PlanCounts): Generator<PlannedRecord, void, undefined> {
    const { failTimes, ...remaining } = counts;
    for (let left = Object.values(remaining).reduce((sum, n) => sum + n, 0); left > 0; left -= 1) {
      const category = this.draw(remaining, left);
      remaining[category] -= 1;
      yield this.record(category, failTimes);
    }
  }

  /**
   * Blocks of ENDLESS_BLOCK records, one after another until the caller stops iterating: in each, the scenario
   * inputs (counts per block) and valid orders for the rest, in a random order. A steady share of failures, as a
   * live stream has.
   */
  *endless(counts: Omit<PlanCounts, 'valid'>): Generator<PlannedRecord, never, undefined> {
    const valid = ENDLESS_BLOCK - counts.invalid - counts.poison - counts.transient;
    if (valid < 0) throw new RangeError(`an endless block holds ${ENDLESS_BLOCK} records, fewer than its failures`);
    for (;;) yield* this.plan({ ...counts, valid });
  }

  /** A category drawn with probability remaining[category] / left, where left is the sum of remaining. */
  private draw(remaining: Record<Category, number>, left: number): Category {
    let ticket = Math.floor(this.random() * left);
    for (const category of SCENARIO_CATEGORIES) {
      if (ticket < remaining[category]) return category;
      ticket -= remaining[category];
    }
    return 'valid';
  }

  private record(category: Category, failTimes: number): PlannedRecord {
    switch (category) {
      case 'valid':
        return this.valid();
      case 'invalid':
        return this.invalid();
      case 'poison':
        return this.poison();
      case 'transient':
        return this.transient(failTimes);
    }
  }
}
