// Order consumer: validates, processes, aggregates, retries, dead-letters.
import { loadConfig, serviceSpecs } from '../lib/config.ts';
import { runService } from '../lib/service.ts';
import { startConsumer } from './consumer.ts';

const SHUTDOWN_DEADLINE_MS = 10_000;

await runService('consumer', async (logger) => {
  const config = loadConfig(serviceSpecs.consumer);
  logger.level = config.LOG_LEVEL;
  const consumer = await startConsumer(config, logger);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    await consumer.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
});
