// The last hour of the running aggregate (GET /stats/history's orders):
// orders per second from each partition's count, the running average, what
// counts of a partition's first record, an epoch that starts again from
// zero, several groups, and the hour sliding on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyTotals, type PartitionTotals } from '../../services/lib/order-stats.ts';
import { OrderHistory } from '../../services/dlq-service/stats/order-history.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const SECOND = 1000;

function totals(partition: number, count: number, sumCents: number, fields: Partial<PartitionTotals> = {}) {
  return { ...emptyTotals('g', 'orders', partition), count, sumCents, ...fields };
}

describe('order history', () => {
  it('counts orders per second per bucket, keeps the running average, and sums to what was processed', () => {
    let now = T0;
    const history = new OrderHistory({ startedAt: T0 - 5 * SECOND, now: () => now });
    history.add(totals(0, 10, 1000), T0 - 3 * SECOND); // its first commit: counts whole
    history.add(totals(1, 20, 6000), T0 + 1 * SECOND);
    history.add(totals(0, 15, 2000), T0 + 2 * SECOND);
    history.add(totals(1, 50, 9000), T0 + 25 * SECOND);
    now = T0 + 35 * SECOND;
    const series = history.series('g');
    assert.equal(series.bucketSeconds, 10);
    assert.equal(series.times.length, 360);
    assert.equal(series.times.at(-1), new Date(T0 + 30 * SECOND).toISOString());
    const at = (time: number) => series.times.indexOf(new Date(time).toISOString());
    assert.equal(series.perSecond[at(T0 - 10 * SECOND)], 1);
    assert.equal(series.perSecond[at(T0)], (20 + 5) / 10);
    assert.equal(series.perSecond[at(T0 + 10 * SECOND)], 0, 'no commit: no order');
    assert.equal(series.perSecond[at(T0 + 20 * SECOND)], 3);
    assert.equal(series.perSecond[at(T0 - 20 * SECOND)], null, 'before anything is known');
    assert.equal(series.perSecond.reduce((sum: number, n) => sum + (n ?? 0), 0) * 10, 65);
    assert.equal(series.average[at(T0 - 20 * SECOND)], null);
    assert.equal(series.average[at(T0 - 10 * SECOND)], 1);
    assert.equal(series.average[at(T0)], (2000 + 6000) / 35 / 100);
    assert.equal(series.average[at(T0 + 10 * SECOND)], (2000 + 6000) / 35 / 100, 'carried over');
    assert.equal(series.average[at(T0 + 30 * SECOND)], (2000 + 9000) / 65 / 100);
    assert.deepEqual(history.series('another group').perSecond, new Array(360).fill(null));
  });

  it('starts a partition read from before the service started at its first record, and follows epochs', () => {
    const now = T0 + 60 * SECOND;
    const history = new OrderHistory({ startedAt: T0 + 30 * SECOND, now: () => now });
    // What compaction left of a long history: not a spike of 100,000 orders.
    history.add(totals(0, 100_000, 10_000_000), T0);
    history.add(totals(0, 100_010, 10_001_000), T0 + 10 * SECOND);
    history.add(totals(0, 4, 400, { epoch: 1 }), T0 + 20 * SECOND); // started again from zero
    history.add(totals(1, 7, 700), T0 + 40 * SECOND); // written after the start: its first commit
    const series = history.series('g');
    const at = (time: number) => series.times.indexOf(new Date(time).toISOString());
    assert.deepEqual(
      [T0, T0 + 10 * SECOND, T0 + 20 * SECOND, T0 + 30 * SECOND, T0 + 40 * SECOND].map(
        (time) => series.perSecond[at(time)],
      ),
      [0, 1, 0.4, 0, 0.7],
    );
    assert.equal(series.average[at(T0 + 40 * SECOND)], 1, 'of the current epoch and the new partition');
  });

  it('keeps one hour, starting from the aggregate as it was before the hour', () => {
    let now = T0;
    const history = new OrderHistory({ startedAt: T0 - 7200 * SECOND, now: () => now });
    history.add(totals(0, 2, 200), T0 - 7000 * SECOND);
    history.add(totals(0, 4, 1000), T0 - 100 * SECOND);
    now = T0 + 3600 * SECOND;
    const series = history.series('g');
    assert.equal(series.times[0], new Date(T0 + 10 * SECOND).toISOString());
    assert.ok(
      series.perSecond.every((n) => n === 0),
      'both records are older than the hour: nothing processed in it, but known',
    );
    assert.ok(series.average.every((average) => average === 2.5));
    history.add(totals(0, 5, 1100), T0 - 50 * SECOND);
    assert.equal(history.series('g').average[0], 1100 / 5 / 100, 'the newest record before the hour');
  });
});
