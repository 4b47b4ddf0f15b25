// The running aggregate, kept in the compacted order-stats topic. Each
// consumed topic-partition has
// - one totals record (count, sum, and the offset it accounts up to), and
// - one record per product seen on it, under the product's own key,
// all written in the same transaction as the offsets they cover. A commit
// rewrites the totals and only the products its orders touched, so what one
// commit writes stays bounded by the commit's size, however many distinct
// products there are. A partition's numbers move with the partition when the
// group rebalances; the overall and per-product views sum over partitions.
// Money is counted in whole cents so sums are exact. Product names are data:
// they are held in Maps, never used as keys of plain objects.
import { toCents, type Order } from './order.ts';

export interface Tally {
  count: number;
  sumCents: number;
}

interface PartitionRef {
  group: string;
  topic: string;
  partition: number;
  /**
   * Starts at 0 and goes up when a partition's aggregate is started again
   * from zero (STATS_ON_OFFSET_RESET=zero): product records of an older
   * epoch no longer count, without having to delete them one by one.
   */
  epoch: number;
}

export interface PartitionTotals extends PartitionRef, Tally {
  kind: 'totals';
  /** The offset after the last record this state accounts for ("-1" before any). */
  nextOffset: string;
  updatedAt: string;
}

export interface ProductTally extends PartitionRef, Tally {
  kind: 'product';
  product: string;
}

export type StatsRecord = PartitionTotals | ProductTally;

export interface StatsView extends Tally {
  average: number | null;
  products: Record<string, Tally & { average: number | null }>;
}

/** The totals record's key: `group|topic|partition`. */
export function statsKey(group: string, topic: string, partition: number): string {
  return `${group}|${topic}|${partition}`;
}

/** A product record's key: a JSON array, so no product name can collide with another key. */
export function productKey(group: string, topic: string, partition: number, product: string): string {
  return JSON.stringify([group, topic, partition, product]);
}

export function emptyTotals(group: string, topic: string, partition: number, epoch = 0): PartitionTotals {
  const updatedAt = new Date(0).toISOString();
  return { kind: 'totals', group, topic, partition, epoch, nextOffset: '-1', count: 0, sumCents: 0, updatedAt };
}

/** What one commit adds: the partition's new totals and the products whose tallies changed. */
export interface StatsUpdate {
  totals: PartitionTotals;
  products: ProductTally[];
}

/**
 * The update that counts `orders` on top of `totals` and `products` (the
 * partition's current tallies, which are not changed).
 */
export function countOrders(
  totals: PartitionTotals,
  products: ReadonlyMap<string, Tally>,
  orders: readonly Order[],
  nextOffset: string,
  now = new Date(),
): StatsUpdate {
  const { group, topic, partition, epoch } = totals;
  const touched = new Map<string, ProductTally>();
  let { count, sumCents } = totals;
  for (const order of orders) {
    const cents = toCents(order.price);
    count += 1;
    sumCents += cents;
    const tally = touched.get(order.product) ?? { count: 0, sumCents: 0, ...products.get(order.product) };
    touched.set(order.product, {
      kind: 'product',
      group,
      topic,
      partition,
      epoch,
      product: order.product,
      count: tally.count + 1,
      sumCents: tally.sumCents + cents,
    });
  }
  return {
    totals: { ...totals, count, sumCents, nextOffset, updatedAt: now.toISOString() },
    products: [...touched.values()],
  };
}

/** Reads a record of the order-stats topic; undefined for anything else (an older format, another tool's). */
export function parseStatsRecord(value: Buffer | string): StatsRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Partial<Omit<PartitionTotals, 'kind'> & Omit<ProductTally, 'kind'>> & { kind?: unknown };
  const common =
    typeof record.group === 'string' &&
    typeof record.topic === 'string' &&
    Number.isInteger(record.partition) &&
    Number.isSafeInteger(record.epoch) &&
    Number.isSafeInteger(record.count) &&
    Number.isSafeInteger(record.sumCents);
  if (!common) return undefined;
  if (record.kind === 'totals' && typeof record.nextOffset === 'string') return record as PartitionTotals;
  if (record.kind === 'product' && typeof record.product === 'string') return record as ProductTally;
  return undefined;
}

/** The average price of a tally, in units; null before any order. */
export const average = ({ count, sumCents }: Tally) => (count === 0 ? null : sumCents / count / 100);

/** Sums tallies into the overall view; `products` is every product tally of the partitions summed. */
export function combineStats(totals: Iterable<Tally>, products: Iterable<ProductTally>): StatsView {
  let count = 0;
  let sumCents = 0;
  for (const part of totals) {
    count += part.count;
    sumCents += part.sumCents;
  }
  const byProduct = new Map<string, Tally>();
  for (const tally of products) {
    const sum = byProduct.get(tally.product) ?? { count: 0, sumCents: 0 };
    byProduct.set(tally.product, { count: sum.count + tally.count, sumCents: sum.sumCents + tally.sumCents });
  }
  return {
    count,
    sumCents,
    average: average({ count, sumCents }),
    // fromEntries defines own data properties: `__proto__` or `constructor` is a product like any other.
    products: Object.fromEntries([...byProduct].map(([name, tally]) => [name, { ...tally, average: average(tally) }])),
  };
}
