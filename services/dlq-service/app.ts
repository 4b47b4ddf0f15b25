// The DLQ service as a Fastify app: external plugins first (OpenAPI, Swagger
// UI, security headers, dashboard files and its chart library), then the
// app's own (metrics, Kafka clients, DLQ index and replay, order stats and
// their last hour, auth), then the routes, one folder per resource.
// main.ts listens; tests and scripts build it the same way, e.g.
//   const app = await buildApp({ config: loadConfig(serviceSpecs['dlq-service']) });
//   await app.listen({ port: 0 });
//   await app.deadLetters.waitUntilCaughtUp(60_000);
import { AjvCompiler } from '@fastify/ajv-compiler';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConfigError, type ServiceConfig } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { errorHandler } from './error-handler.ts';
import auth from './plugins/app/auth.ts';
import deadLetters from './plugins/app/dead-letters.ts';
import kafka from './plugins/app/kafka.ts';
import metrics from './plugins/app/metrics.ts';
import orderStats from './plugins/app/order-stats.ts';
import chartLibrary from './plugins/external/chart-library.ts';
import dashboardFiles from './plugins/external/static.ts';
import securityHeaders from './plugins/external/security-headers.ts';
import openApi from './plugins/external/swagger.ts';
import alertsRoutes from './routes/alerts/index.ts';
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

/** Unknown parameters are refused (400 naming them), not silently dropped; defaults are filled in. */
const AJV_OPTIONS = { removeAdditional: false, useDefaults: true } as const;
const validatorsFromPool = AjvCompiler();

/**
 * Validators per part of the request. Query strings and paths are text, so
 * "limit=5" becomes a number and a repeated parameter an array; a JSON body
 * has types of its own and is taken as sent: `"force": null` is a 400, not
 * false.
 */
function buildValidator(
  externalSchemas: Parameters<typeof validatorsFromPool>[0],
  options: Parameters<typeof validatorsFromPool>[1] | undefined,
) {
  const plugins = options?.plugins ?? [];
  const lenient = validatorsFromPool(externalSchemas, {
    customOptions: { ...AJV_OPTIONS, coerceTypes: 'array' },
    plugins,
  });
  const strict = validatorsFromPool(externalSchemas, {
    customOptions: { ...AJV_OPTIONS, coerceTypes: false },
    plugins,
  });
  return (definition: Parameters<typeof lenient>[0]) => (definition.httpPart === 'body' ? strict : lenient)(definition);
}

/** Request bodies are small JSON objects (a few filters); anything larger is refused with 413. */
const BODY_LIMIT_BYTES = 16 * 1024;
const REDACTED = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'authorization',
];

/**
 * A known path called with a method it does not serve answers 405 with an
 * Allow header (RFC 9110), instead of the 404 of a path that does not exist,
 * or the 400 of a parametric route that took the path for a parameter
 * (GET /dlq/replay is not GET /dlq/{id} with id "replay": it is POST's path).
 */
function answerWrongMethods(app: FastifyInstance): void {
  const routes: { url: string; pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', ({ url, method }) => {
    let route = routes.find((known) => known.url === url);
    if (route === undefined) {
      const source = url
        .split('/')
        .map((part) =>
          part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/');
      route = { url, pattern: new RegExp(`^${source}$`), methods: new Set() };
      routes.push(route);
    }
    for (const one of [method].flat()) route.methods.add(one);
  });
  const allowedOn = (path: string, among = routes) =>
    [...new Set(among.filter(({ pattern }) => pattern.test(path)).flatMap(({ methods }) => [...methods]))].sort();
  const refuse = (request: FastifyRequest, reply: FastifyReply, allowed: string[]) => {
    const path = request.url.split('?')[0]!;
    const allow = allowed.join(', ');
    return reply
      .code(405)
      .header('allow', allow)
      .send({
        statusCode: 405,
        error: 'Method Not Allowed',
        message: `${path} does not answer ${request.method}; it answers ${allow}`,
        code: 'METHOD_NOT_ALLOWED',
      });
  };
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const template = request.routeOptions.url;
    if (template === undefined || !/[:*]/.test(template)) return;
    const exact = routes.filter(({ url }) => url === path);
    if (exact.length > 0 && !exact.some(({ methods }) => methods.has(request.method))) {
      return refuse(request, reply, allowedOn(path, exact));
    }
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = allowedOn(path);
    // A path some route serves with this very method was not found by that route (a file under /docs/static).
    if (allowed.length > 0 && !allowed.includes(request.method)) return refuse(request, reply, allowed);
    return reply
      .code(404)
      .send({ statusCode: 404, error: 'Not Found', message: `Route ${request.method}:${path} not found` });
  });
}

/** What the variables' own checks cannot see: settings that contradict each other. */
function checkConfigAsAWhole(config: ServiceConfig<'dlq-service'>): void {
  if (config.DLQ_PAGE_SIZE > config.DLQ_PAGE_SIZE_MAX) {
    throw new ConfigError({
      DLQ_PAGE_SIZE:
        `is ${config.DLQ_PAGE_SIZE}, larger than DLQ_PAGE_SIZE_MAX (${config.DLQ_PAGE_SIZE_MAX}): ` +
        'a page without a limit would be refused. Lower it, or raise DLQ_PAGE_SIZE_MAX',
    });
  }
}

export async function buildApp({ config, logger }: AppOptions): Promise<FastifyInstance> {
  checkConfigAsAWhole(config);
  const log = (logger ?? createLogger('dlq-service', config.LOG_LEVEL)).child(
    {},
    { redact: { paths: REDACTED, censor: '[redacted]' } },
  );
  const app = Fastify({
    loggerInstance: log,
    // One line per request instead, from the metrics plugin's onResponse hook.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    schemaController: { compilersFactory: { buildValidator } },
  }) as unknown as FastifyInstance;
  // A getter: envalid's config is a proxy that throws on unknown keys, which Fastify probes.
  app.decorate('config', { getter: () => config });
  app.setErrorHandler(errorHandler);
  answerWrongMethods(app);
  for (const schema of [errorSchema, summarySchema, replayStateSchema, detailSchema]) app.addSchema(schema);

  try {
    await app.register(openApi);
    await app.register(securityHeaders);
    await app.register(dashboardFiles);
    await app.register(chartLibrary);

    await app.register(metrics);
    await app.register(kafka, { config, logger: log });
    await app.register(deadLetters, { config, logger: log });
    await app.register(orderStats, { config, logger: log });
    await app.register(auth, {
      token: config.DLQ_API_TOKEN,
      readToken: config.DLQ_READ_TOKEN,
      alertsToken: config.DLQ_ALERTS_TOKEN,
    });

    await app.register(dlqRoutes, { prefix: '/dlq' });
    await app.register(statsRoutes, { prefix: '/stats' });
    await app.register(alertsRoutes, { prefix: '/alerts' });
    await app.register(healthRoutes);
    await app.register(openApiRoutes);
  } catch (error) {
    // Close what the plugins loaded so far opened (Kafka connections).
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
