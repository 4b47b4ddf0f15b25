// GET /stats/history on the real pipeline: orders produced through the lab,
// processed and dead-lettered by the real consumer, read by the service
// started before them. The dead letters per minute by class are those the
// archive lists, minute by minute; the orders per second sum to the count the
// consumer processed, and the running average at the end is the aggregate's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab, waitUntil } from '../../scripts/harness/lab.ts';
import { DlqService } from './dlq-service-app.ts';

const MINUTE_MS = 60_000;

describe('GET /stats/history', () => {
  const lab = new Lab({ MAX_RETRIES: '1', RETRY_BASE_MS: '50' });
  let service: DlqService;

  before(async () => {
    await lab.start();
    service = await DlqService.start(lab);
    await lab.produce({ count: 40, invalid: 4, poison: 3, transient: 2, 'fail-times': 6 });
    const consumer = lab.startConsumer();
    await waitUntil('the consumer to process and dead-letter every order', () => lab.drained(), 90_000).catch(
      consumer.rethrowWithOutput,
    );
    await waitUntil(
      'the service to archive the 9 dead letters',
      async () => (await service.get('/dlq')).body.total === 9,
    );
    await waitUntil(
      'the service to read the aggregate the consumer wrote',
      async () => (await service.get('/stats/orders')).body.count === lab.stats().count,
    );
  });

  after(async () => {
    await service?.close();
    await lab.stop();
  });

  it('counts the dead letters per minute by failure class, as the archive lists them', async () => {
    const items = await service.listAll();
    const { status, body } = await service.get('/stats/history');
    assert.equal(status, 200);
    const { minutes, byFailureClass } = body.deadLetters as { minutes: string[]; byFailureClass: any };
    assert.equal(minutes.length, 60);
    const expected: Record<string, number[]> = {
      invalid: new Array(60).fill(0),
      'retries-exhausted': new Array(60).fill(0),
      undecodable: new Array(60).fill(0),
    };
    for (const item of items) {
      const minute = new Date(Math.floor(Date.parse(item.failedAt) / MINUTE_MS) * MINUTE_MS).toISOString();
      expected[item.failureClass]![minutes.indexOf(minute)]! += 1;
    }
    assert.deepEqual(byFailureClass, expected);
    const sum = (counts: number[]) => counts.reduce((total, n) => total + n, 0);
    assert.deepEqual(
      Object.fromEntries(Object.entries(expected).map(([name, counts]) => [name, sum(counts)])),
      { invalid: 4, 'retries-exhausted': 2, undecodable: 3 },
      'every dead letter of the run, in the last hour',
    );
  });

  it('sums orders per second to the orders processed, and ends at the running average', async () => {
    const { body } = await service.get('/stats/history');
    const aggregate = (await service.get('/stats/orders')).body;
    const { bucketSeconds, times, perSecond, average } = body.orders;
    assert.equal(body.group, lab.group);
    assert.equal(bucketSeconds, 10);
    assert.equal(times.length, 360);
    assert.ok(Date.parse(times.at(-1)) <= Date.now() && Date.now() - Date.parse(times.at(-1)) < 10_000);
    const processed = perSecond.reduce((total: number, n: number | null) => total + (n ?? 0), 0) * bucketSeconds;
    assert.equal(aggregate.count, 40, 'the valid orders (the producer adds the others to them)');
    assert.equal(Math.round(processed), aggregate.count, 'every order processed since the service started');
    assert.ok(
      perSecond.some((n: number | null) => n !== null && n > 0),
      'the orders were processed in the last hour',
    );
    assert.equal(average.at(-1), aggregate.average);
    assert.equal(perSecond[0], null, 'the group was unknown an hour ago');
  });

  it('answers for another group, and refuses what it does not know', async () => {
    const { body } = await service.get('/stats/history?group=nobody');
    assert.equal(body.group, 'nobody');
    assert.ok(body.orders.perSecond.every((n: number | null) => n === null));
    assert.equal((await service.get('/stats/history?groups=x')).status, 400);
  });
});
