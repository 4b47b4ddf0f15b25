// Order consumer: validates, processes, aggregates, retries, dead-letters.
import { loadConfig, serviceSpecs } from '../lib/config.ts';
import { runService } from '../lib/service.ts';
import { startConsumer } from './consumer.ts';

const SHUTDOWN_DEADLINE_MS = 10_000;

await runService('consumer', async (logger) => {
  const config = loadConfig(serviceSpecs.consumer);
  logger.level = config.LOG_LEVEL;
  // kafkajs giving up for good ends the process non-zero, so that Compose's
  // restart policy or `make up`'s supervisor starts a fresh one.
  const starting = startConsumer(config, logger, () => void stop('kafkajs gave up', 1));
  const stop = async (reason: string, exitCode: number) => {
    logger.info({ reason }, 'stopping');
    setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    await (await starting.catch(() => undefined))?.stop();
    logger.info('stopped');
    process.exit(exitCode);
  };
  await starting;
  process.once('SIGTERM', (signal) => void stop(signal, 0));
  process.once('SIGINT', (signal) => void stop(signal, 0));
});
