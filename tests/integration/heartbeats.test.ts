// Slow work inside one batch must not cost the consumer its group
// membership: with a downstream so slow that one batch takes about twice the
// session timeout, a single consumer joins once, is never rebalanced, and
// counts every order exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab, waitUntil } from '../../scripts/harness/lab.ts';

const SESSION_TIMEOUT_MS = 6000;
const LATENCY_MS = 20;
// Produced before the consumer starts, so each partition's records come in one batch.
const ORDERS = 1800;

describe('heartbeats during a batch longer than the session timeout', () => {
  const lab = new Lab({ SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS), DOWNSTREAM_LATENCY_MS: String(LATENCY_MS) });
  before(() => lab.start());
  after(() => lab.stop());

  it('keeps its one membership and counts every order once', async () => {
    const truth = await lab.produce({ count: ORDERS });
    const perPartition = ORDERS / 3;
    assert.ok(
      perPartition * LATENCY_MS >= 1.9 * SESSION_TIMEOUT_MS,
      "a partition's batch takes about twice the session timeout",
    );
    const consumer = lab.startConsumer();
    await waitUntil('the consumer to drain the orders topic', () => lab.drained(), 120_000);
    await waitUntil('the aggregate', () => lab.stats().count === truth.orders.length, 20_000).catch(() => undefined);
    assert.equal(lab.stats().count, truth.orders.length);
    assert.equal(consumer.logs(/joined the consumer group/).length, 1, 'one group join: no rebalance');
    assert.equal(consumer.logs(/coordinator is not aware|rebalanc/i).length, 0, 'no rebalance logged');
  });
});
