import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsumerHealth } from '../../services/consumer/health.ts';

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

describe('consumer health', () => {
  it('is healthy only as a member of its group', () => {
    const health = new ConsumerHealth('blocking', 60_000);
    assert.equal(health.status().ok, false, 'not yet joined');
    health.joined();
    assert.equal(health.status().ok, true);
    health.rebalancing();
    assert.equal(health.status().ok, false);
  });

  it('is unhealthy for good once kafkajs gave up, and says why', () => {
    const health = new ConsumerHealth('blocking', 60_000);
    health.joined();
    health.crashed(new Error('INCONSISTENT_GROUP_PROTOCOL'));
    const status = health.status();
    assert.equal(status.ok, false);
    assert.equal(status.crashed?.error, 'INCONSISTENT_GROUP_PROTOCOL');
    health.joined();
    assert.equal(health.status().ok, false, 'a crash is not undone by a late join event');
  });

  it('turns unhealthy when a partition fails to make progress for longer than the threshold', () => {
    const { time, now } = clock();
    const health = new ConsumerHealth('topics', 60_000, now);
    health.joined();
    health.failed('orders', 1, new Error('commit refused'));
    time.now += 59_000;
    health.failed('orders', 1, new Error('commit refused again'));
    assert.equal(health.status().ok, true, 'within the threshold');
    time.now += 1_000;
    const status = health.status();
    assert.equal(status.ok, false);
    assert.deepEqual(status.stalled, [
      { topic: 'orders', partition: 1, since: new Date(1_000_000).toISOString(), error: 'commit refused again' },
    ]);
    health.progressed('orders', 1);
    assert.equal(health.status().ok, true, 'healthy again once it commits');
  });

  it('shows offset resets without turning unhealthy', () => {
    const health = new ConsumerHealth('blocking', 60_000);
    health.joined();
    health.offsetReset({ topic: 'orders', partition: 0, committed: '10', stored: '50', policy: 'keep' });
    const status = health.status();
    assert.equal(status.ok, true);
    assert.equal(status.offsetResets.length, 1);
    assert.equal(status.offsetResets[0]?.committed, '10');
  });
});
