// Replay end to end, with the real producer and consumer: an order whose
// downstream call keeps failing is dead-lettered after its retries; replayed
// through the API, the consumer processes it (a replay is not fault-injected:
// it stands for "the fault is fixed"), the aggregate counts it once, the
// record shows as replayed, and a second replay is refused without force.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DLQ } from '../../services/lib/dlq.ts';
import type { GroundTruth } from '../../services/producer/producer.ts';
import { DlqService } from './dlq-service-app.ts';
import { expectedStats, Lab, waitUntil, type ServiceProcess } from '../../scripts/harness/lab.ts';

const MAX_RETRIES = 1;

describe('DLQ replay end to end', () => {
  const lab = new Lab({ MAX_RETRIES: String(MAX_RETRIES), RETRY_BASE_MS: '50', RETRY_MODE: 'blocking' });
  let truth: GroundTruth;
  let consumer: ServiceProcess;
  let service: DlqService;
  let id: string;

  const withConsumerOutput = (error: unknown) => consumer.rethrowWithOutput(error);
  const drained = (what: string) => waitUntil(what, () => lab.drained(), 90_000).catch(withConsumerOutput);
  // A replay is written in a transaction, so the orders topic then ends with
  // a commit marker the consumer's committed offset never passes.
  const drainedAfterReplay = (what: string) => waitUntil(what, () => lab.drained(1), 90_000).catch(withConsumerOutput);

  before(async () => {
    await lab.start();
    truth = await lab.produce({ count: 3, transient: 1, 'fail-times': MAX_RETRIES + 5 });
    consumer = lab.startConsumer();
    await drained('the consumer to process the orders and dead-letter the transient one');
    service = await DlqService.start(lab);
  });

  after(async () => {
    await service?.close();
    await lab.stop();
  });

  it('lists the order that failed transiently as retries-exhausted', async () => {
    const { body } = await service.get('/dlq');
    assert.equal(body.total, 1);
    const [item] = body.items;
    assert.equal(item.failureClass, 'retries-exhausted');
    assert.equal(item.orderId, truth.keys.transient[0]);
    assert.equal(item.attempts, MAX_RETRIES + 1);
    id = item.id;
    await waitUntil('the aggregate of the three valid orders', () => lab.stats().count === 3, 30_000);
  });

  it('replays it: the consumer processes it and the aggregate counts it once', async () => {
    const replay = await service.post(`/dlq/${id}/replay`);
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.target.topic, lab.topics.orders);

    const expected = expectedStats([truth], Number.POSITIVE_INFINITY);
    assert.equal(expected.count, 4, 'three valid orders and the replayed one');
    await waitUntil(
      'the consumer to count the replayed order',
      () => lab.stats().count === expected.count,
      60_000,
    ).catch(withConsumerOutput);
    await drainedAfterReplay('the consumer to commit the replayed order');
    assert.deepEqual(lab.stats(), expected);
    await waitUntil(
      'GET /stats/orders to show it',
      async () => (await service.get('/stats/orders')).body.count === expected.count,
      30_000,
    );
    const served = (await service.get('/stats/orders')).body;
    assert.deepEqual(served, { group: lab.group, ...expected });
    const letters = await lab.deadLetters();
    assert.equal(letters.length, 1, 'the replayed order did not fail again');
    assert.equal(letters[0]!.headers[DLQ.failureClass], 'retries-exhausted');
  });

  it('marks the record replayed', async () => {
    const { body } = await service.get(`/dlq/${id}`);
    assert.equal(body.replays, 1);
    assert.equal(body.replayState.history.length, 1);
    assert.equal(body.replayState.history[0].topic, lab.topics.orders);
    assert.equal((await service.get('/dlq?replayed=true')).body.total, 1);
    assert.equal((await service.get('/dlq/stats')).body.replayed, 1);
  });

  it('refuses a second replay without force, and the order is still counted once', async () => {
    const ordersBefore = (await lab.admin.fetchTopicOffsets(lab.topics.orders)).map((p) => p.high);
    const again = await service.post(`/dlq/${id}/replay`);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'ALREADY_REPLAYED');
    assert.deepEqual(
      (await lab.admin.fetchTopicOffsets(lab.topics.orders)).map((p) => p.high),
      ordersBefore,
      'nothing was published',
    );
    await drainedAfterReplay('the consumer to stay drained');
    assert.equal(lab.stats().count, 4);
  });
});
