import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateOrder } from '../../services/lib/order.ts';
import { OrderFactory } from '../../services/producer/orders.ts';

describe('order factory', () => {
  it('is deterministic for a seed', () => {
    const plan = (seed: number) => new OrderFactory(seed).plan({ valid: 20, invalid: 5, poison: 5, transient: 5, failTimes: 2 });
    assert.deepEqual(plan(7).map((r) => r.key), plan(7).map((r) => r.key));
    assert.notDeepEqual(plan(7).map((r) => r.key), plan(8).map((r) => r.key));
  });

  it('plans what was asked, each category as it says', () => {
    const records = new OrderFactory(1).plan({ valid: 50, invalid: 12, poison: 9, transient: 4, failTimes: 3 });
    const by = (category: string) => records.filter((r) => r.category === category);
    assert.equal(by('valid').length, 50);
    assert.equal(by('invalid').length, 12);
    assert.equal(by('poison').length, 9);
    assert.equal(by('transient').length, 4);
    for (const r of [...by('valid'), ...by('transient')]) assert.doesNotThrow(() => validateOrder({ ...r.order! }));
    for (const r of by('invalid')) assert.throws(() => validateOrder({ ...r.order! }));
    for (const r of by('transient')) assert.equal(r.headers['x-fault-transient'], '3');
    assert.equal(new Set(records.map((r) => r.key)).size, records.length, 'keys are unique');
    for (const r of by('valid')) {
      assert.match(r.key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.ok(Math.abs(r.order!.price * 100 - Math.round(r.order!.price * 100)) < 1e-6, 'prices are whole cents');
    }
  });
});
