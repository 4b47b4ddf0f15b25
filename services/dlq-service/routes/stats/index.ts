// /stats/orders: the consumer group's running aggregate.
import type { FastifyInstance } from 'fastify';
import { orderStatsSchema } from '../../schemas/stats.ts';

export default async function statsRoutes(app: FastifyInstance) {
  app.addHook('onRequest', app.requireReadToken);
  app.get<{ Querystring: { group?: string } }>('/orders', { schema: orderStatsSchema }, async (request) => {
    const group = request.query.group ?? app.config.CONSUMER_GROUP;
    return { group, ...app.orderStats.view(group) };
  });
}
