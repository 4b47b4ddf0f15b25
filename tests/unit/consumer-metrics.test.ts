// The consumer's metrics: every failure class's dead-letter series is there
// at 0 before the first dead letter, so that a rate over it sees the first
// burst (observability/alerts.yml, DeadLetterRateHigh).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createConsumerMetrics } from '../../services/consumer/metrics.ts';
import { FAILURE_CLASSES } from '../../services/lib/dlq.ts';

describe('consumer metrics', () => {
  it('exports orders_dead_lettered_total at 0 for every failure class from the start', async () => {
    const metrics = createConsumerMetrics(
      () => ({ count: 0, sumCents: 0, average: null }),
      () => true,
    );
    const samples = (await metrics.registry.metrics())
      .split('\n')
      .filter((line) => line.startsWith('orders_dead_lettered_total{'));
    assert.deepEqual(
      samples.sort(),
      FAILURE_CLASSES.map((failureClass) => `orders_dead_lettered_total{failure_class="${failureClass}"} 0`).sort(),
    );
    metrics.deadLettered.inc({ failure_class: 'undecodable' }, 3);
    assert.match(await metrics.registry.metrics(), /orders_dead_lettered_total\{failure_class="undecodable"\} 3/);
  });
});
