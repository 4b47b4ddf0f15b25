// Faults too slow for scenario-faults, against the real broker: every order
// is counted once or dead-lettered once, the consumer never stalls, and its
// counters follow what was committed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from 'kafkajs';
import { whyStackIsNotOurs, withBrokerKilled } from '../../scripts/harness/infrastructure.ts';
import { expectedStats, Lab, waitUntil, type ServiceProcess } from '../../scripts/harness/lab.ts';

describe('100,000 distinct product names', () => {
  const lab = new Lab();
  before(() => lab.start());
  after(() => lab.stop());

  it('counts every order, per product too, and keeps flowing', async () => {
    const DISTINCT = 100_000;
    const orders = Array.from({ length: DISTINCT }, (_, i) => ({
      orderId: `o-${i}`,
      product: `product-${i}`,
      price: 1 + (i % 100),
    }));
    for (let i = 0; i < orders.length; i += 5000) {
      const chunk = orders.slice(i, i + 5000);
      await lab.send(
        lab.topics.orders,
        await Promise.all(chunk.map(async (o): Promise<Message> => ({ key: o.orderId, value: await lab.encode(o) }))),
      );
    }
    const consumer = lab.startConsumer();
    await waitUntil('every order counted', () => lab.stats().count === DISTINCT, 180_000).catch(
      consumer.rethrowWithOutput,
    );
    // Still flowing: orders sent afterwards are counted too.
    const truth = await lab.produce({ count: 100 });
    await waitUntil(
      'the later orders counted',
      () => lab.stats().count === DISTINCT + truth.orders.length,
      60_000,
    ).catch(consumer.rethrowWithOutput);
    const stats = lab.stats();
    assert.equal(Object.keys(stats.products).length, DISTINCT + new Set(truth.orders.map((o) => o.product)).size);
    assert.deepEqual(stats.products['product-99999'], { count: 1, sumCents: 10_000, average: 100 });
    assert.equal((await consumer.get('/health')).status, 200);
  });
});

describe('the DLQ topic deleted while the consumer runs, then recreated', () => {
  const lab = new Lab({ HEALTH_STALL_MS: '2000', INFRA_RETRY_MAX_MS: '2000' });
  before(() => lab.start());
  after(() => lab.stop());

  it('waits, skips nothing, resumes; health shows the stall; counters count each dead letter once', async () => {
    const consumer = lab.startConsumer();
    await consumer.waitForLog(/joined the consumer group/, 60_000);
    const [dlq] = (await lab.admin.fetchTopicMetadata({ topics: [lab.topics.dlq] })).topics;
    await lab.admin.deleteTopics({ topics: [lab.topics.dlq] });
    const truth = await lab.produce({ count: 60, invalid: 10 });
    await waitUntil(
      '/health to say the consumer cannot make progress',
      async () => (await consumer.get('/health')).status === 503,
      120_000,
    ).catch(consumer.rethrowWithOutput);
    const stalled = JSON.parse((await consumer.get('/health')).text);
    assert.ok(stalled.stalled.length > 0, 'the stalled partitions are named');
    assert.equal(await consumer.metric('consumer_healthy'), 0, 'the metric the ConsumerUnhealthy alert watches');
    assert.ok(lab.stats().count < truth.orders.length, 'no batch holding a dead letter was committed');

    await lab.admin.createTopics({
      topics: [{ topic: lab.topics.dlq, numPartitions: dlq!.partitions.length }],
      waitForLeaders: true,
    });
    await waitUntil('the consumer to drain the orders topic', () => lab.drained(), 120_000).catch(
      consumer.rethrowWithOutput,
    );
    await waitUntil('the aggregate', () => lab.stats().count === truth.orders.length, 20_000).catch(() => undefined);
    assert.deepEqual(lab.stats(), expectedStats([truth], 3));
    assert.deepEqual((await lab.deadLetters()).map((l) => l.key).sort(), [...truth.keys.invalid].sort());
    await waitUntil('/health to recover', async () => (await consumer.get('/health')).status === 200, 30_000);
    assert.equal(await consumer.metric('consumer_healthy'), 1);
    assert.equal(
      await consumer.metric('orders_dead_lettered_total'),
      truth.keys.invalid.length,
      'each dead letter counted once, after its commit',
    );
    assert.equal(await consumer.metric('orders_processed_total'), truth.orders.length);
  });
});

describe('lag gauges follow the assignment', () => {
  const lab = new Lab({ SESSION_TIMEOUT_MS: '6000' });
  before(() => lab.start());
  after(() => lab.stop());

  it('drops the gauges of partitions that moved to another member', async () => {
    await lab.produce({ count: 90 });
    const first = lab.startConsumer();
    await waitUntil('the first consumer to drain', () => lab.drained());
    const lagged = async () =>
      [
        ...(await first.get('/metrics')).text.matchAll(
          /^consumer_lag_records\{topic="[^"]+-orders",partition="(\d)"\}/gm,
        ),
      ].map((m) => m[1]);
    assert.deepEqual((await lagged()).sort(), ['0', '1', '2']);
    const ordersOf = (process: ServiceProcess): number[] =>
      (process.logs(/joined the consumer group/).at(-1)?.assignment as Record<string, number[]> | undefined)?.[
        lab.topics.orders
      ] ?? [];
    const second = lab.startConsumer();
    await waitUntil('the second consumer to take orders partitions', () => ordersOf(second).length > 0, 60_000);
    await waitUntil('the first consumer to rejoin with fewer partitions', () => ordersOf(first).length < 3, 60_000);
    const kept = ordersOf(first).map(String);
    await waitUntil(
      'the first consumer to hold gauges only of what it kept',
      async () => (await lagged()).every((p) => kept.includes(p!)),
      30_000,
    );
    assert.deepEqual(
      (await lagged()).filter((p) => !kept.includes(p!)),
      [],
      'no gauge for a partition it gave away',
    );
  });
});

describe('the broker killed with SIGKILL mid-stream', { skip: (await whyStackIsNotOurs()) ?? false }, () => {
  const lab = new Lab({ SESSION_TIMEOUT_MS: '10000', COMMIT_MAX_RECORDS: '100' });
  before(() => lab.start());
  after(() => lab.stop());

  it('counts every order once and dead-letters every bad one once', async () => {
    const first = await lab.produce({ count: 1500, invalid: 20, poison: 20 });
    const consumer = lab.startConsumer({ DOWNSTREAM_LATENCY_MS: '2' });
    await waitUntil('the consumer to be mid-stream', () => lab.stats().count >= 300, 60_000).catch(
      consumer.rethrowWithOutput,
    );
    await lab.withStatsReaderStopped(() =>
      withBrokerKilled(async () => {
        assert.ok(lab.stats().count < first.orders.length, 'the broker died mid-stream');
        // Down for a few seconds: the consumer's requests fail meanwhile.
        await waitUntil(
          'the consumer to notice the broker is gone',
          () => consumer.logs(/ECONNREFUSED|Connection error|not available|disconnected/i).length > 0,
          30_000,
        );
      }),
    );
    const second = await lab.produce({ count: 300, invalid: 5 });
    await waitUntil('the consumer to drain the orders topic', () => lab.drained(), 180_000).catch(
      consumer.rethrowWithOutput,
    );
    await waitUntil(
      'the aggregate',
      () => lab.stats().count === first.orders.length + second.orders.length,
      30_000,
    ).catch(() => undefined);
    assert.deepEqual(lab.stats(), expectedStats([first, second], 3));
    const bad = [...first.keys.invalid, ...first.keys.poison, ...second.keys.invalid].sort();
    assert.deepEqual((await lab.deadLetters()).map((l) => l.key).sort(), bad);
  });
});
