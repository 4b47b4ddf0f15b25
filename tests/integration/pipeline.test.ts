// The consumer's routing end to end, in both retry modes: N valid, K invalid,
// P poison, T transient orders that recover within the retry budget and U
// that do not. Exactly K+P+U dead letters, each with the right class, origin
// and attempts; the aggregate equals the one computed from what was sent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DLQ, DLT } from '../../services/lib/dlq.ts';
import type { GroundTruth } from '../../services/producer/producer.ts';
import { expectedStats, Lab, waitUntil, type DeadLetter, type ServiceProcess } from '../../scripts/harness/lab.ts';

const MAX_RETRIES = 3;
const counts = { valid: 40, invalid: 6, poison: 6, recovering: 4, exhausted: 3 };

for (const mode of ['blocking', 'topics'] as const) {
  describe(`pipeline, RETRY_MODE=${mode}`, () => {
    const lab = new Lab({
      RETRY_MODE: mode,
      MAX_RETRIES: String(MAX_RETRIES),
      RETRY_BASE_MS: '100',
      RETRY_FACTOR: '2',
    });
    let truths: GroundTruth[];
    let deadLetters: DeadLetter[];
    let consumer: ServiceProcess;

    before(async () => {
      await lab.start();
      truths = [
        await lab.produce({
          count: counts.valid,
          invalid: counts.invalid,
          poison: counts.poison,
          transient: counts.recovering,
          'fail-times': 2,
        }),
        await lab.produce({ count: 1, transient: counts.exhausted, 'fail-times': MAX_RETRIES + 2 }),
      ];
      consumer = lab.startConsumer();
      const expected = counts.invalid + counts.poison + counts.exhausted;
      await waitUntil('the consumer to drain the orders and retry topics', () => lab.drained(), 90_000).catch(
        consumer.rethrowWithOutput,
      );
      deadLetters = await lab.deadLetters();
      assert.equal(deadLetters.length, expected, `expected ${expected} dead letters, got ${deadLetters.length}`);
    });

    after(() => lab.stop());

    const keysOf = (category: 'valid' | 'invalid' | 'poison' | 'transient', truth = 0) => truths[truth]!.keys[category];

    it('dead-letters invalid orders as invalid after one attempt', () => {
      const letters = deadLetters.filter((d) => keysOf('invalid').includes(d.key));
      assert.equal(letters.length, counts.invalid);
      for (const letter of letters) {
        assert.equal(letter.headers[DLQ.failureClass], 'invalid');
        assert.equal(letter.headers[DLQ.attempts], '1');
        assert.equal(letter.headers[DLT.exceptionFqcn], 'ValidationError');
      }
    });

    it('dead-letters poison pills as undecodable after one attempt', () => {
      const letters = deadLetters.filter((d) => keysOf('poison').includes(d.key));
      assert.equal(letters.length, counts.poison);
      for (const letter of letters) {
        assert.equal(letter.headers[DLQ.failureClass], 'undecodable');
        assert.equal(letter.headers[DLQ.attempts], '1');
        assert.equal(letter.headers[DLT.exceptionFqcn], 'UndecodableError');
      }
    });

    it('dead-letters transient failures past the budget with attempts = retries + 1', () => {
      const letters = deadLetters.filter((d) => keysOf('transient', 1).includes(d.key));
      assert.equal(letters.length, counts.exhausted);
      for (const letter of letters) {
        assert.equal(letter.headers[DLQ.failureClass], 'retries-exhausted');
        assert.equal(letter.headers[DLQ.attempts], String(MAX_RETRIES + 1));
        assert.equal(letter.headers[DLT.exceptionFqcn], 'TransientError');
        assert.equal(letter.headers['x-fault-transient'], String(MAX_RETRIES + 2), 'original headers are kept');
      }
    });

    it('never dead-letters a valid or recovering order', () => {
      const good = new Set([...keysOf('valid'), ...keysOf('transient'), ...keysOf('valid', 1)]);
      assert.deepEqual(
        deadLetters.filter((d) => good.has(d.key)).map((d) => d.key),
        [],
      );
    });

    it('each dead letter keeps the original key and bytes, and names its origin exactly', async () => {
      const originals = new Map(
        (await lab.readAll(lab.topics.orders)).map(({ partition, message }) => [
          `${partition}/${message.offset}`,
          message,
        ]),
      );
      for (const letter of deadLetters) {
        assert.equal(letter.headers[DLT.originalTopic], lab.topics.orders);
        assert.equal(letter.headers[DLT.originalConsumerGroup], lab.group);
        assert.equal(Number(letter.headers[DLT.originalPartition]), letter.partition, 'same partition as the original');
        const original = originals.get(
          `${letter.headers[DLT.originalPartition]}/${letter.headers[DLT.originalOffset]}`,
        );
        assert.ok(
          original,
          `no original record at ${letter.headers[DLT.originalPartition]}/${letter.headers[DLT.originalOffset]}`,
        );
        assert.equal(original.key?.toString(), letter.key);
        assert.deepEqual(original.value, letter.value);
        assert.equal(letter.headers[DLT.originalTimestamp], original.timestamp);
        assert.ok(letter.headers[DLT.exceptionMessage]);
        assert.ok(!Number.isNaN(Date.parse(letter.headers[DLQ.failedAt]!)));
      }
    });

    it('the aggregate equals the one computed from the ground truth', async () => {
      const expected = expectedStats(truths, MAX_RETRIES);
      assert.equal(expected.count, counts.valid + counts.recovering + 1);
      await waitUntil(
        'the stats reader to see the final aggregate',
        () => lab.stats().count === expected.count,
        10_000,
      ).catch(() => undefined);
      assert.deepEqual(lab.stats(), expected);
    });

    it('logs one line per retry and per dead letter, with the order and where it was', () => {
      const deadLettering = consumer.logs(/dead-lettering order/);
      assert.equal(deadLettering.length, deadLetters.length);
      const retries = consumer.logs(/transient failure/);
      // Recovering orders fail twice; exhausted ones fail before each of their retries.
      assert.equal(retries.length, counts.recovering * 2 + counts.exhausted * MAX_RETRIES);
      for (const line of [...deadLettering, ...retries]) {
        for (const field of ['topic', 'partition', 'offset', 'attempt', 'reason'])
          assert.ok(line[field] !== undefined, `${field} missing in ${JSON.stringify(line)}`);
      }
      assert.ok(retries.every((line) => typeof line.orderId === 'string'));
    });

    it('exposes health and Prometheus metrics that match what happened', async () => {
      const port = consumer.logs(/consumer started/)[0]?.httpPort;
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const metric = (pattern: string) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(text)?.[1]);
      assert.equal(metric('orders_processed_total'), counts.valid + counts.recovering + 1);
      assert.equal(metric('orders_retried_total'), counts.recovering * 2 + counts.exhausted * MAX_RETRIES);
      assert.equal(metric('orders_dead_lettered_total\\{failure_class="invalid"\\}'), counts.invalid);
      assert.equal(metric('orders_dead_lettered_total\\{failure_class="undecodable"\\}'), counts.poison);
      assert.equal(metric('orders_dead_lettered_total\\{failure_class="retries-exhausted"\\}'), counts.exhausted);
      assert.equal(metric('orders_average_price'), expectedStats(truths, MAX_RETRIES).average);
      assert.equal(metric('consumer_healthy'), 1, 'as /health says');
      assert.ok(metric('order_processing_seconds_count') >= counts.valid);
    });
  });
}
