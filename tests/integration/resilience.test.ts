// Our own infrastructure failing is not the orders' fault: a registry outage
// longer than the whole retry budget dead-letters nothing. And a consumer
// stopped during a backoff wait exits cleanly without committing the record.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectedStats, Lab, waitUntil } from '../../scripts/harness/lab.ts';
import { whyStackIsNotOurs, withRegistryStopped } from '../../scripts/harness/infrastructure.ts';

describe('registry outage longer than the retry budget', { skip: (await whyStackIsNotOurs()) ?? false }, () => {
  // Retry budget: 100 + 200 + 400 ms.
  const lab = new Lab({ MAX_RETRIES: '3', RETRY_BASE_MS: '100', INFRA_RETRY_MAX_MS: '1000' });
  before(() => lab.start());
  after(() => lab.stop());

  it('dead-letters nothing and counts every order once the registry is back', async () => {
    const truth = await lab.produce({ count: 300 });
    let outageMs = 0;
    await withRegistryStopped(async () => {
      const started = Date.now();
      // A fresh consumer has no schema cached: it must ask the stopped registry.
      const consumer = lab.startConsumer();
      await waitUntil(
        'the consumer to wait out the outage for longer than the retry budget',
        () => consumer.logs(/infrastructure unavailable/).length >= 3 && Date.now() - started > 3000,
        60_000,
      );
      assert.equal(lab.stats().count, 0, 'nothing was processed while the registry was down');
      outageMs = Date.now() - started;
    });
    await waitUntil('the consumer to drain the orders topic', () => lab.drained(), 60_000);
    assert.ok(outageMs > 700, 'the outage outlasted the retry budget');
    assert.deepEqual(await lab.deadLetters(), []);
    const expected = expectedStats([truth], 3);
    await waitUntil('the final aggregate', () => lab.stats().count === expected.count, 10_000).catch(() => undefined);
    assert.deepEqual(lab.stats(), expected);
  });
});

describe('shutdown during a backoff wait', () => {
  const lab = new Lab({ MAX_RETRIES: '3', RETRY_BASE_MS: '4000' });
  before(() => lab.start());
  after(() => lab.stop());

  it('SIGTERM exits 0 without committing the waiting record, which is processed after restart', async () => {
    const truth = await lab.produce({ count: 1, transient: 1, 'fail-times': 1 });
    const [waitingKey] = truth.keys.transient;
    const consumer = lab.startConsumer();
    await waitUntil(
      'the consumer to wait before its first retry',
      () => consumer.logs(/retrying in place/).some((entry) => entry.orderId === waitingKey),
      30_000,
    );
    consumer.kill('SIGTERM');
    const exit = await consumer.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, consumer.output.slice(-2000));
    assert.equal(await lab.caughtUp(lab.topics.orders), false, 'the record in backoff was not committed');
    assert.ok(lab.stats().count < 2, 'the record in backoff was not counted');

    lab.startConsumer();
    await waitUntil('the restarted consumer to process the record', () => lab.drained(), 60_000);
    assert.deepEqual(lab.stats(), expectedStats([truth], 3));
    assert.deepEqual(await lab.deadLetters(), []);
  });
});
