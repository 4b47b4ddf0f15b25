// Prometheus metrics of the consumer, on its own registry.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StatsView } from '../lib/order-stats.ts';

export function createConsumerMetrics(currentStats: () => StatsView) {
  const registry = new Registry();
  return {
    registry,
    processed: new Counter({ name: 'orders_processed_total', help: 'Orders processed and counted in the aggregate', registers: [registry] }),
    retried: new Counter({ name: 'orders_retried_total', help: 'Retries scheduled after a transient failure', registers: [registry] }),
    deadLettered: new Counter({
      name: 'orders_dead_lettered_total',
      help: 'Orders written to the DLQ, by failure class',
      labelNames: ['failure_class'],
      registers: [registry],
    }),
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
    lag: new Gauge({
      name: 'consumer_lag_records',
      help: 'Records behind the end of the partition after the last batch',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    }),
    average: new Gauge({
      name: 'orders_average_price',
      help: 'Running average price over all processed orders of the group',
      registers: [registry],
      collect() {
        this.set(currentStats().average ?? 0);
      },
    }),
  };
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;
