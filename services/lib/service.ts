// Entry-point wrapper: a config error or a failed start is one clear log line
// and a non-zero exit, never a stack dump of an unhandled rejection, and never
// a process kept alive by the connections it opened before it failed.
import { ConfigError } from './config.ts';
import { createLogger, type Logger } from './logger.ts';

export async function runService(name: string, start: (logger: Logger) => Promise<void>): Promise<void> {
  const logger = createLogger(name);
  try {
    await start(logger);
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal({ problems: error.problems }, error.message);
    } else {
      logger.fatal({ err: error }, `${name} failed: ${(error as Error).message}`);
    }
    process.exit(1);
  }
}
