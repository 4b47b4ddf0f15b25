// Prometheus metrics of the consumer, on its own registry.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FAILURE_CLASSES } from '../lib/dlq.ts';
import type { Tally } from '../lib/order-stats.ts';

export function createConsumerMetrics(
  currentTotals: () => Tally & { average: number | null },
  /** What /health says (ok), read at each scrape. */
  healthy: () => boolean,
) {
  const registry = new Registry();
  const lag = new Gauge({
    name: 'consumer_lag_records',
    help: 'Records behind the end of the partition after the last batch, for the partitions this member holds',
    labelNames: ['topic', 'partition'],
    registers: [registry],
  });
  /** Partitions with a lag gauge: partitions that moved to another member lose theirs. */
  const lagged = new Map<string, { topic: string; partition: string }>();
  return {
    registry,
    processed: new Counter({
      name: 'orders_processed_total',
      help: 'Orders processed and counted in the aggregate',
      registers: [registry],
    }),
    retried: new Counter({
      name: 'orders_retried_total',
      help: 'Retries scheduled after a transient failure',
      registers: [registry],
    }),
    deadLettered: deadLettered(registry),
    infrastructureWaits: new Counter({
      name: 'consumer_infrastructure_waits_total',
      help: 'Waits because the registry or Kafka was unavailable (no retry budget spent)',
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'order_processing_seconds',
      help: 'Time from taking a record to its decision (processed, retry or DLQ), retries included',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    setLag(topic: string, partition: number, records: number): void {
      const labels = { topic, partition: String(partition) };
      lagged.set(`${topic}/${partition}`, labels);
      lag.set(labels, records);
    },
    /** Drops the lag of every partition not in this member's new assignment (`{ topic: [partitions] }`). */
    keepLagOf(assignment: Record<string, number[]>): void {
      for (const [key, labels] of lagged) {
        if (assignment[labels.topic]?.includes(Number(labels.partition))) continue;
        lag.remove(labels);
        lagged.delete(key);
      }
    },
    offsetResets: new Counter({
      name: 'consumer_offset_resets_total',
      help: 'Partitions whose committed offset was moved outside the consumer (handled as STATS_ON_OFFSET_RESET says)',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    }),
    healthy: new Gauge({
      name: 'consumer_healthy',
      help: '1 while /health says ok (a member of its group, kafkajs running, no partition stalled), else 0',
      registers: [registry],
      collect() {
        this.set(healthy() ? 1 : 0);
      },
    }),
    average: new Gauge({
      name: 'orders_average_price',
      help: 'Running average price over all processed orders of the group',
      registers: [registry],
      collect() {
        this.set(currentTotals().average ?? 0);
      },
    }),
  };
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;

/**
 * Every failure class's series exists from the start, at 0: a rate over a
 * series that first appears at 20 sees no increase, so without it the first
 * burst of a class would never raise DeadLetterRateHigh.
 */
function deadLettered(registry: Registry): Counter<'failure_class'> {
  const counter = new Counter({
    name: 'orders_dead_lettered_total',
    help: 'Orders written to the DLQ, by failure class',
    labelNames: ['failure_class'] as const,
    registers: [registry],
  });
  for (const failureClass of FAILURE_CLASSES) counter.inc({ failure_class: failureClass }, 0);
  return counter;
}
