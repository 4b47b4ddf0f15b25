// The running aggregate, followed from the order-stats topic (GET /stats/orders).
import type { ServiceConfig } from '../../../lib/config.ts';
import type { Logger } from '../../../lib/logger.ts';
import { StatsReader } from '../../../lib/stats-reader.ts';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    orderStats: StatsReader;
  }
}

export default fp<{ config: ServiceConfig<'dlq-service'>; logger: Logger }>(async function orderStats(
  app,
  { config, logger },
) {
  const reader = new StatsReader(app.kafka.client, app.kafka.admin, config.STATS_TOPIC, logger);
  app.decorate('orderStats', reader);
  app.addHook('onClose', () => reader.stop());
  await reader.start();
});
