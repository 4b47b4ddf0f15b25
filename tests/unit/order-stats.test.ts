import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  combineStats,
  countOrders,
  emptyTotals,
  parseStatsRecord,
  productKey,
  statsKey,
} from '../../services/lib/order-stats.ts';

describe('order stats', () => {
  it('counts cents exactly, moves nextOffset and writes only the products the orders touched', () => {
    const start = emptyTotals('g', 'orders', 0);
    const known = new Map([
      ['chair', { count: 5, sumCents: 50_000 }],
      ['mouse', { count: 1, sumCents: 100 }],
    ]);
    const { totals, products } = countOrders(
      start,
      known,
      [
        { orderId: 'a', product: 'mouse', price: 0.1 },
        { orderId: 'b', product: 'mouse', price: 0.2 },
        { orderId: 'c', product: 'dock', price: 19.99 },
      ],
      '3',
    );
    assert.equal(totals.count, 3);
    assert.equal(totals.sumCents, 2029);
    assert.equal(totals.nextOffset, '3');
    assert.deepEqual(
      products.map(({ product, count, sumCents }) => ({ product, count, sumCents })),
      [
        { product: 'mouse', count: 3, sumCents: 130 },
        { product: 'dock', count: 1, sumCents: 1999 },
      ],
    );
    assert.equal(start.count, 0, 'the previous state is not changed');
    assert.deepEqual(known.get('mouse'), { count: 1, sumCents: 100 }, 'nor are the known tallies');
  });

  it('counts product names that are built-ins of plain objects like any other name', () => {
    const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
    const orders = names.flatMap((product, i) => [
      { orderId: `${i}a`, product, price: 1 },
      { orderId: `${i}b`, product, price: 2 },
    ]);
    const { totals, products } = countOrders(emptyTotals('g', 'orders', 0), new Map(), orders, '10');
    const view = combineStats([totals], products);
    assert.equal(view.count, 10);
    for (const name of names) {
      assert.ok(Object.hasOwn(view.products, name), `${name} is an own entry`);
      assert.deepEqual(view.products[name], { count: 2, sumCents: 300, average: 1.5 });
    }
    // And through a JSON round trip, as the DLQ service sends them.
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(view.products))).sort(), [...names].sort());
  });

  it('combines partitions into overall and per-product averages', () => {
    const p0 = countOrders(
      emptyTotals('g', 'orders', 0),
      new Map(),
      [{ orderId: 'a', product: 'mouse', price: 10 }],
      '1',
    );
    const p1 = countOrders(
      emptyTotals('g', 'orders', 1),
      new Map(),
      [
        { orderId: 'b', product: 'mouse', price: 20 },
        { orderId: 'c', product: 'dock', price: 60 },
      ],
      '2',
    );
    const view = combineStats([p0.totals, p1.totals], [...p0.products, ...p1.products]);
    assert.equal(view.count, 3);
    assert.equal(view.average, 30);
    assert.deepEqual(view.products.mouse, { count: 2, sumCents: 3000, average: 15 });
    assert.equal(combineStats([], []).average, null);
  });

  it('reads back what it writes and nothing else', () => {
    const { totals, products } = countOrders(
      emptyTotals('g', 'orders', 2),
      new Map(),
      [{ orderId: 'a', product: 'x', price: 1 }],
      '7',
    );
    assert.deepEqual(parseStatsRecord(JSON.stringify(totals)), totals);
    assert.deepEqual(parseStatsRecord(JSON.stringify(products[0])), products[0]);
    assert.equal(
      parseStatsRecord('{"group":"g","topic":"orders","partition":0,"products":{}}'),
      undefined,
      'the older format',
    );
    assert.equal(parseStatsRecord('not json'), undefined);
  });

  it('keys products so that no name collides with another key', () => {
    assert.notEqual(productKey('g', 't', 0, 'x'), productKey('g', 't', 0, 'x|y'));
    assert.notEqual(productKey('a|b', 't', 0, 'x'), productKey('a', 'b|t', 0, 'x'));
    assert.notEqual(productKey('g', 't', 0, ''), statsKey('g', 't', 0));
  });
});
