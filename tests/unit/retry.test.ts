import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, backoffSchedule, wait, type BackoffPolicy } from '../../services/lib/retry.ts';

const defaults: BackoffPolicy = { baseMs: 1000, factor: 2, maxMs: 30_000, jitter: 0, maxRetries: 3 };

describe('backoff', () => {
  it('defaults give 1000, 2000, 4000 ms', () => {
    assert.deepEqual(backoffSchedule(defaults), [1000, 2000, 4000]);
  });

  it('is capped', () => {
    assert.deepEqual(
      backoffSchedule({ ...defaults, maxRetries: 7, maxMs: 10_000 }),
      [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000],
    );
  });

  it('follows base and factor', () => {
    assert.deepEqual(backoffSchedule({ ...defaults, baseMs: 50, factor: 3 }), [50, 150, 450]);
  });

  it('jitter stays within [d * (1 - jitter), d]', () => {
    const policy = { ...defaults, jitter: 0.5 };
    assert.equal(
      backoffDelay(policy, 3, () => 0),
      4000,
    );
    assert.equal(
      backoffDelay(policy, 3, () => 0.999999),
      2000,
    );
    for (let i = 0; i < 1000; i += 1) {
      const delay = backoffDelay(policy, 2);
      assert.ok(delay >= 1000 && delay <= 2000, `delay ${delay} outside [1000, 2000]`);
    }
  });

  it('a wait is cut short by its signal', async () => {
    const controller = new AbortController();
    const waiting = wait(60_000, controller.signal);
    controller.abort();
    assert.equal(await waiting, false);
    assert.equal(await wait(1), true);
  });
});
