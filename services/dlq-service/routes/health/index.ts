// /health (liveness), /ready (readiness), /metrics (Prometheus).
import type { FastifyInstance } from 'fastify';
import { healthSchema, metricsSchema, readySchema } from '../../schemas/health.ts';

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/health', { schema: healthSchema }, async () => ({ status: 'ok' as const }));

  app.get('/ready', { schema: readySchema }, async (_request, reply) => {
    const readiness = await app.deadLetters.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });

  app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
    return reply.type(app.metrics.registry.contentType).send(await app.metrics.registry.metrics());
  });
}
