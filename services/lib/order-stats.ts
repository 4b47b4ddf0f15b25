// The running aggregate. Each consumed topic-partition has its own record in
// the compacted order-stats topic, written in the same transaction as the
// offsets it covers, so a partition's numbers move with the partition when
// the group rebalances. The overall and per-product views sum over them.
// Money is counted in whole cents so sums are exact.
import { toCents, type Order } from './order.ts';

export interface Tally {
  count: number;
  sumCents: number;
}

export interface PartitionStats extends Tally {
  group: string;
  topic: string;
  partition: number;
  /** The offset after the last record this state accounts for ("-1" before any). */
  nextOffset: string;
  products: Record<string, Tally>;
  updatedAt: string;
}

export interface StatsView extends Tally {
  average: number | null;
  products: Record<string, Tally & { average: number | null }>;
}

export function statsKey(group: string, topic: string, partition: number): string {
  return `${group}|${topic}|${partition}`;
}

export function emptyStats(group: string, topic: string, partition: number): PartitionStats {
  return { group, topic, partition, nextOffset: '-1', count: 0, sumCents: 0, products: {}, updatedAt: new Date(0).toISOString() };
}

/** A copy of `stats` with the orders added and nextOffset moved on. */
export function withOrders(stats: PartitionStats, orders: readonly Order[], nextOffset: string, now = new Date()): PartitionStats {
  const products = { ...stats.products };
  let { count, sumCents } = stats;
  for (const order of orders) {
    const cents = toCents(order.price);
    count += 1;
    sumCents += cents;
    const product = products[order.product] ?? { count: 0, sumCents: 0 };
    products[order.product] = { count: product.count + 1, sumCents: product.sumCents + cents };
  }
  return { ...stats, count, sumCents, products, nextOffset, updatedAt: now.toISOString() };
}

const average = ({ count, sumCents }: Tally) => (count === 0 ? null : sumCents / count / 100);

export function combineStats(parts: Iterable<PartitionStats>): StatsView {
  const products: Record<string, Tally> = {};
  let count = 0;
  let sumCents = 0;
  for (const part of parts) {
    count += part.count;
    sumCents += part.sumCents;
    for (const [name, tally] of Object.entries(part.products)) {
      const sum = products[name] ?? { count: 0, sumCents: 0 };
      products[name] = { count: sum.count + tally.count, sumCents: sum.sumCents + tally.sumCents };
    }
  }
  return {
    count,
    sumCents,
    average: average({ count, sumCents }),
    products: Object.fromEntries(Object.entries(products).map(([name, tally]) => [name, { ...tally, average: average(tally) }])),
  };
}
