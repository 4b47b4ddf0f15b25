// The running aggregate, followed from the order-stats topic (GET /stats/orders), and its last hour
// (GET /stats/history), from every totals record the reader reads.
import type { ServiceConfig } from '../../../lib/config.ts';
import type { Logger } from '../../../lib/logger.ts';
import { StatsReader } from '../../../lib/stats-reader.ts';
import { OrderHistory } from '../../stats/order-history.ts';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    orderStats: StatsReader;
    orderHistory: OrderHistory;
  }
}

export default fp<{ config: ServiceConfig<'dlq-service'>; logger: Logger }>(async function orderStats(
  app,
  { config, logger },
) {
  const reader = new StatsReader(app.kafka.client, app.kafka.admin, config.STATS_TOPIC, logger);
  const history = new OrderHistory();
  reader.onTotals((totals, timestamp) => history.add(totals, timestamp));
  app.decorate('orderStats', reader);
  app.decorate('orderHistory', history);
  app.addHook('onClose', () => reader.stop());
  await reader.start();
});
