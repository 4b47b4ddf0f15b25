// The DLQ service as a Fastify app: external plugins first (OpenAPI, Swagger
// UI, dashboard files), then the app's own (metrics, Kafka clients, DLQ index
// and replay, order stats, auth), then the routes, one folder per resource.
// main.ts listens; tests and scripts build it the same way, e.g.
//   const app = await buildApp({ config: loadConfig(serviceSpecs['dlq-service']) });
//   await app.listen({ port: 0 });
//   await app.deadLetters.waitUntilCaughtUp(60_000);
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { ServiceConfig } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { errorHandler } from './error-handler.ts';
import auth from './plugins/app/auth.ts';
import deadLetters from './plugins/app/dead-letters.ts';
import kafka from './plugins/app/kafka.ts';
import metrics from './plugins/app/metrics.ts';
import orderStats from './plugins/app/order-stats.ts';
import dashboardFiles from './plugins/external/static.ts';
import openApi from './plugins/external/swagger.ts';
import dlqRoutes from './routes/dlq/index.ts';
import healthRoutes from './routes/health/index.ts';
import openApiRoutes from './routes/openapi/index.ts';
import statsRoutes from './routes/stats/index.ts';
import { errorSchema } from './schemas/common.ts';
import { detailSchema, replayStateSchema, summarySchema } from './schemas/dlq.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: ServiceConfig<'dlq-service'>;
  }
}

export interface AppOptions {
  config: ServiceConfig<'dlq-service'>;
  /** Defaults to a pino logger at LOG_LEVEL; the Authorization header is redacted either way. */
  logger?: Logger;
}

/** Request bodies are small JSON objects (a few filters); anything larger is refused with 413. */
const BODY_LIMIT_BYTES = 16 * 1024;
const REDACTED = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'authorization',
];

export async function buildApp({ config, logger }: AppOptions): Promise<FastifyInstance> {
  const log = (logger ?? createLogger('dlq-service', config.LOG_LEVEL)).child(
    {},
    { redact: { paths: REDACTED, censor: '[redacted]' } },
  );
  const app = Fastify({
    loggerInstance: log,
    // One line per request instead, from the metrics plugin's onResponse hook.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // Unknown parameters are refused (400 naming them), not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }) as unknown as FastifyInstance;
  // A getter: envalid's config is a proxy that throws on unknown keys, which Fastify probes.
  app.decorate('config', { getter: () => config });
  app.setErrorHandler(errorHandler);
  for (const schema of [errorSchema, summarySchema, replayStateSchema, detailSchema]) app.addSchema(schema);

  try {
    await app.register(openApi);
    await app.register(dashboardFiles);

    await app.register(metrics);
    await app.register(kafka, { config, logger: log });
    await app.register(deadLetters, { config, logger: log });
    await app.register(orderStats, { config, logger: log });
    await app.register(auth, { token: config.DLQ_API_TOKEN });

    await app.register(dlqRoutes, { prefix: '/dlq' });
    await app.register(statsRoutes, { prefix: '/stats' });
    await app.register(healthRoutes);
    await app.register(openApiRoutes);
  } catch (error) {
    // Close what the plugins loaded so far opened (Kafka connections).
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
