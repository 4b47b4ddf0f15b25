// DLQ service: query, inspect and replay dead letters over HTTP (see app.ts).
import { loadConfig, serviceSpecs } from '../lib/config.ts';
import { runService } from '../lib/service.ts';
import { buildApp } from './app.ts';

const SHUTDOWN_DEADLINE_MS = 10_000;

await runService('dlq-service', async (logger) => {
  const config = loadConfig(serviceSpecs['dlq-service']);
  logger.level = config.LOG_LEVEL;
  const app = await buildApp({ config, logger });
  await app.listen({ port: config.HTTP_PORT, host: config.HTTP_HOST });
  app.log.info({ readOnly: !config.DLQ_API_TOKEN, dlqTopic: config.DLQ_TOPIC }, 'dlq-service started');
  const stop = async (signal: string) => {
    app.log.info({ signal }, 'stopping');
    setTimeout(() => {
      app.log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    await app.close();
    app.log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
});
