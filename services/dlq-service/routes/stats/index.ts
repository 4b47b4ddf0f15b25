// /stats/orders: the consumer group's running aggregate; /stats/history: the last hour of it and of the dead
// letters.
import type { FastifyInstance } from 'fastify';
import { historySchema, orderStatsSchema } from '../../schemas/stats.ts';

export default async function statsRoutes(app: FastifyInstance) {
  app.addHook('onRequest', app.requireReadToken);
  app.get<{ Querystring: { group?: string } }>('/orders', { schema: orderStatsSchema }, async (request) => {
    const group = request.query.group ?? app.config.CONSUMER_GROUP;
    return { group, ...app.orderStats.view(group) };
  });
  app.get<{ Querystring: { group?: string } }>('/history', { schema: historySchema }, async (request) => {
    const group = request.query.group ?? app.config.CONSUMER_GROUP;
    return {
      group,
      deadLetters: app.deadLetters.archive.perMinuteByClass(Date.now()),
      orders: app.orderHistory.series(group),
    };
  });
}
