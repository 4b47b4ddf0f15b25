import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineStats, emptyStats, withOrders } from '../../services/lib/order-stats.ts';

describe('order stats', () => {
  it('counts cents exactly and moves nextOffset', () => {
    const start = emptyStats('g', 'orders', 0);
    const next = withOrders(start, [
      { orderId: 'a', product: 'mouse', price: 0.1 },
      { orderId: 'b', product: 'mouse', price: 0.2 },
      { orderId: 'c', product: 'dock', price: 19.99 },
    ], '3');
    assert.equal(next.count, 3);
    assert.equal(next.sumCents, 2029);
    assert.deepEqual(next.products, { mouse: { count: 2, sumCents: 30 }, dock: { count: 1, sumCents: 1999 } });
    assert.equal(next.nextOffset, '3');
    assert.equal(start.count, 0, 'the previous state is not changed');
  });

  it('combines partitions into overall and per-product averages', () => {
    const p0 = withOrders(emptyStats('g', 'orders', 0), [{ orderId: 'a', product: 'mouse', price: 10 }], '1');
    const p1 = withOrders(emptyStats('g', 'orders', 1), [{ orderId: 'b', product: 'mouse', price: 20 }, { orderId: 'c', product: 'dock', price: 60 }], '2');
    const view = combineStats([p0, p1]);
    assert.equal(view.count, 3);
    assert.equal(view.average, 30);
    assert.deepEqual(view.products.mouse, { count: 2, sumCents: 3000, average: 15 });
    assert.equal(combineStats([]).average, null);
  });
});
