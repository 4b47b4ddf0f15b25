// Prometheus metrics of the service, on a registry of its own (GET /metrics),
// and one log line per request: info for writes and errors, debug for the
// reads a polling dashboard repeats every few seconds.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import fp from 'fastify-plugin';

export interface ServiceMetrics {
  registry: Registry;
  replays: Counter<'outcome'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
  }
}

export default fp(async function metrics(app) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const replays = new Counter({
    name: 'dlq_replays_total',
    help: 'Dead letters replayed, and replays refused or failed, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.decorate('metrics', { registry, replays });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '(no route)';
    requests.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const level = request.method === 'GET' && reply.statusCode < 400 ? 'debug' : 'info';
    request.log[level](
      { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });
});
