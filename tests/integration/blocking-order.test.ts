// Blocking mode holds only the partition of the record that waits for its
// retry: the consumer's other partitions keep flowing, while nothing behind
// the waiting record on its own partition is processed before it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectedStats, Lab, waitUntil } from '../../scripts/harness/lab.ts';

describe('blocking retry holds one partition, not the consumer', () => {
  const lab = new Lab({ RETRY_MODE: 'blocking', MAX_RETRIES: '1', RETRY_BASE_MS: '15000' });
  before(() => lab.start());
  after(() => lab.stop());

  it('drains the other partitions during the wait and keeps the waiting partition in order', async () => {
    const first = await lab.produce({ count: 1, transient: 1, 'fail-times': 1 });
    const consumer = lab.startConsumer();
    const retry = await waitUntil('the transient order to wait for its retry', () =>
      consumer.logs(/retrying in place/).find((entry) => entry.orderId === first.keys.transient[0]),
    );
    const held = { partition: Number(retry.partition), offset: BigInt(String(retry.offset)) };
    const second = await lab.produce({ count: 300 });

    const ends = await lab.admin.fetchTopicOffsets(lab.topics.orders);
    await waitUntil('every other partition to be committed to its end', async () => {
      for (const end of ends) {
        if (
          end.partition !== held.partition &&
          end.high !== end.low &&
          (await lab.committedOffset(end.partition)) < BigInt(end.high)
        )
          return false;
      }
      return true;
    });
    assert.ok(
      (await lab.committedOffset(held.partition)) <= held.offset,
      'nothing at or behind the waiting record was committed',
    );
    assert.ok(
      consumer.logs(/retrying in place/).length === 1 && consumer.logs(/dead-lettering/).length === 0,
      'the record is still waiting for its one retry',
    );

    await waitUntil('the retry to succeed and the partition to drain', () => lab.drained(), 60_000);
    assert.deepEqual(lab.stats(), expectedStats([first, second], 1));
  });
});
