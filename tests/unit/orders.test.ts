import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateOrder } from '../../services/lib/order.ts';
import { ENDLESS_BLOCK, OrderFactory, type Category, type PlannedRecord } from '../../services/producer/orders.ts';

/** The first `n` records of a plan, leaving the rest of it unmade. */
function first(plan: Iterable<PlannedRecord>, n: number): PlannedRecord[] {
  const records = plan[Symbol.iterator]();
  return Array.from({ length: n }, () => {
    const next = records.next();
    assert.ok(!next.done, `the plan ended before ${n} records`);
    return next.value;
  });
}

describe('order factory', () => {
  it('draws version 4 UUIDs, different each time and the same for a seed', () => {
    const draw = (seed: number) => {
      const factory = new OrderFactory(seed);
      return Array.from({ length: 2000 }, () => factory.uuid());
    };
    const ids = draw(42);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(draw(42), ids);
    assert.notDeepEqual(draw(43), ids);
  });

  it('is deterministic for a seed', () => {
    const counts = { valid: 20, invalid: 5, poison: 5, transient: 5, failTimes: 2 };
    const plan = (seed: number) => [...new OrderFactory(seed).plan(counts)];
    assert.deepEqual(
      plan(7).map((r) => r.key),
      plan(7).map((r) => r.key),
    );
    assert.deepEqual(
      plan(7).map((r) => r.category),
      plan(7).map((r) => r.category),
      'the same interleaving',
    );
    assert.notDeepEqual(
      plan(7).map((r) => r.key),
      plan(8).map((r) => r.key),
    );
    assert.notDeepEqual(
      plan(7).map((r) => r.category),
      plan(8).map((r) => r.category),
    );
  });

  it('plans what was asked, each category as it says', () => {
    const records = [...new OrderFactory(1).plan({ valid: 50, invalid: 12, poison: 9, transient: 4, failTimes: 3 })];
    const by = (category: string) => records.filter((r) => r.category === category);
    assert.equal(records.length, 75);
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

  it('yields exactly the requested count of each category, for any mix', () => {
    const mixes = [
      { valid: 0, invalid: 0, poison: 0, transient: 0 },
      { valid: 1, invalid: 0, poison: 0, transient: 0 },
      { valid: 0, invalid: 3, poison: 2, transient: 1 },
      { valid: 5000, invalid: 1, poison: 0, transient: 7 },
      { valid: 3, invalid: 40, poison: 40, transient: 40 },
    ];
    for (const [seed, mix] of mixes.entries()) {
      const counts: Record<Category, number> = { valid: 0, invalid: 0, poison: 0, transient: 0 };
      for (const record of new OrderFactory(seed).plan({ ...mix, failTimes: 1 })) counts[record.category] += 1;
      assert.deepEqual(counts, mix);
    }
  });

  it('mixes the scenario records all through the valid ones, not in a block', () => {
    const counts = { valid: 20_000, invalid: 100, poison: 100, transient: 100, failTimes: 1 };
    const records = [...new OrderFactory(3).plan(counts)];
    const quarter = records.length / 4;
    for (const category of ['invalid', 'poison', 'transient'] as const) {
      const perQuarter = [0, 0, 0, 0];
      for (const [i, r] of records.entries()) if (r.category === category) perQuarter[Math.floor(i / quarter)]! += 1;
      // 100 spread at random: each quarter expects 25, and fewer than 10 is far outside the odds.
      for (const n of perQuarter) assert.ok(n >= 10, `${category} per quarter of the plan: ${perQuarter.join(', ')}`);
    }
  });

  it('plans a huge count lazily: the first records come at once, without allocating the rest', () => {
    const counts = { valid: 50_000_000, invalid: 10, poison: 10, transient: 10, failTimes: 1 };
    const huge = () => new OrderFactory(5).plan(counts);
    const heapBefore = process.memoryUsage().heapUsed;
    const head = first(huge(), 1000);
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    assert.equal(head.length, 1000);
    // Planning all 50 million up front takes gigabytes (or dies of V8 out-of-memory).
    assert.ok(grownMb < 32, `heap grew by ${grownMb.toFixed(1)} MB for the first 1000 of 50 million records`);
    const again = first(huge(), 1000);
    assert.deepEqual(
      again.map((r) => r.key),
      head.map((r) => r.key),
      'repeatable for a seed, however long the plan',
    );
  });

  it('endless: every block of 100 records holds the scenario records, mixed in, for as long as asked', () => {
    const records = first(new OrderFactory(9).endless({ invalid: 3, poison: 2, transient: 1, failTimes: 2 }), 10_000);
    assert.equal(records.length, 10_000);
    const blocks = Array.from({ length: 10_000 / ENDLESS_BLOCK }, (_, i) =>
      records.slice(i * ENDLESS_BLOCK, (i + 1) * ENDLESS_BLOCK),
    );
    for (const block of blocks) {
      const failing = block.map((r) => r.category).filter((category) => category !== 'valid');
      assert.deepEqual(failing.sort(), ['invalid', 'invalid', 'invalid', 'poison', 'poison', 'transient']);
    }
    const firstFailures = blocks.map((block) => block.findIndex((r) => r.category !== 'valid'));
    assert.ok(new Set(firstFailures).size > 1, 'the failures sit at other places in each block');
  });

  it('endless: refuses more failures than a block holds', () => {
    const factory = new OrderFactory(1);
    assert.throws(() => first(factory.endless({ invalid: 60, poison: 41, transient: 0, failTimes: 1 }), 1), RangeError);
  });
});
