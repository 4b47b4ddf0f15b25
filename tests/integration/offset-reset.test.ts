// The group's offsets moved outside the consumer (kafka-consumer-groups
// --reset-offsets, here the admin API): the stored aggregate no longer
// accounts up to the committed offset. The consumer must not stall; it says so
// once (log, /health, /metrics) and does what STATS_ON_OFFSET_RESET says.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab, waitUntil, type ServiceProcess } from '../../scripts/harness/lab.ts';

const RESET_LOG = /moved outside the consumer/;

async function drainedWith(lab: Lab, consumer: ServiceProcess, count: number): Promise<void> {
  await waitUntil(
    `the consumer to drain and count ${count} orders`,
    async () => (await lab.drained()) && lab.stats().count === count,
    60_000,
  ).catch((error: Error) => consumer.rethrowWithOutput(new Error(`${error.message}; counted ${lab.stats().count}`)));
}

async function stop(consumer: ServiceProcess): Promise<void> {
  consumer.kill('SIGTERM');
  assert.equal((await consumer.exited).code, 0, 'the consumer stops cleanly, leaving the group');
}

describe('offset reset, STATS_ON_OFFSET_RESET=keep (the default)', () => {
  const lab = new Lab({ SESSION_TIMEOUT_MS: '6000' });
  before(() => lab.start());
  after(() => lab.stop());

  it('backward: keeps the stored aggregate and counts the re-read orders again; says so once', async () => {
    await lab.produce({ count: 300 });
    let consumer = lab.startConsumer();
    await drainedWith(lab, consumer, 300);
    await stop(consumer);

    const before = Number(await lab.committedOffset(0));
    const rewind = Math.min(50, before);
    await lab.admin.setOffsets({
      groupId: lab.group,
      topic: lab.topics.orders,
      partitions: [{ partition: 0, offset: String(before - rewind) }],
    });

    consumer = lab.startConsumer();
    await drainedWith(lab, consumer, 300 + rewind);
    const [reset, ...more] = consumer.logs(RESET_LOG);
    assert.equal(more.length, 0, 'logged once');
    assert.equal(reset?.level, 50, 'at error level');
    assert.deepEqual(
      [reset?.partition, reset?.committed, reset?.stored, reset?.policy],
      [0, String(before - rewind), String(before), 'keep'],
    );
    const health = JSON.parse((await consumer.get('/health')).text);
    assert.equal(health.ok, true, 'still healthy: it goes on');
    assert.deepEqual(
      health.offsetResets.map((r: { partition: number }) => r.partition),
      [0],
    );
    assert.match(
      (await consumer.get('/metrics')).text,
      /consumer_offset_resets_total\{topic="[^"]+",partition="0"\} 1/,
    );
    await stop(consumer);

    // The decision was stored: a restart finds the aggregate in step and says nothing.
    consumer = lab.startConsumer();
    await consumer.httpPort();
    await consumer.waitForLog(/joined the consumer group/, 60_000);
    await lab.produce({ count: 30 });
    await drainedWith(lab, consumer, 330 + rewind);
    assert.equal(consumer.logs(RESET_LOG).length, 0);
    await stop(consumer);
  });

  it('forward: skipped orders are never counted and the partition moves on', async () => {
    const start = lab.stats().count;
    const truth = await lab.produce({ count: 200 });
    // Skip whatever partition 1 got while no consumer ran.
    const [end] = (await lab.admin.fetchTopicOffsets(lab.topics.orders)).filter((p) => p.partition === 1);
    const skipped = Number(end!.high) - Number(await lab.committedOffset(1));
    assert.ok(skipped > 0, 'partition 1 got some of the new orders');
    await lab.admin.setOffsets({
      groupId: lab.group,
      topic: lab.topics.orders,
      partitions: [{ partition: 1, offset: end!.high }],
    });

    const consumer = lab.startConsumer();
    await drainedWith(lab, consumer, start + truth.orders.length - skipped);
    // A stored offset short of the committed one may be a record still hidden
    // behind an open transaction: the consumer gives that the transaction
    // timeout (60 s) and some before it calls it a skip.
    await consumer.waitForLog(RESET_LOG, 120_000);
    // Orders sent after the skip on that partition are counted once it is handled.
    const after = await lab.produce({ count: 30 });
    await drainedWith(lab, consumer, start + truth.orders.length - skipped + after.orders.length);
    const resets = consumer.logs(RESET_LOG);
    assert.deepEqual(
      resets.map((r) => [r.partition, r.committed]),
      [[1, end!.high]],
    );
    await stop(consumer);
  });
});

describe('offset reset, STATS_ON_OFFSET_RESET=zero', () => {
  const lab = new Lab({ SESSION_TIMEOUT_MS: '6000', STATS_ON_OFFSET_RESET: 'zero' });
  before(() => lab.start());
  after(() => lab.stop());

  it('back to the earliest offsets: the aggregate is rebuilt from the log, exactly', async () => {
    const truth = await lab.produce({ count: 240, invalid: 5 });
    let consumer = lab.startConsumer();
    await drainedWith(lab, consumer, truth.orders.length);
    const built = lab.stats();
    await stop(consumer);

    await lab.admin.resetOffsets({ groupId: lab.group, topic: lab.topics.orders, earliest: true });
    consumer = lab.startConsumer();
    await drainedWith(lab, consumer, truth.orders.length);
    assert.deepEqual(lab.stats(), built, 'the same aggregate, per product too, not counted twice');
    assert.equal(consumer.logs(RESET_LOG).length, 3, 'one line per partition');
    await stop(consumer);
  });
});
