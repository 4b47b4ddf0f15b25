// Creates topics and registers schemas, then exits 0; non-zero with a message
// naming what could not be reached.
import { loadConfig, serviceSpecs } from '../lib/config.ts';
import { runService } from '../lib/service.ts';
import { runTopicInit } from './init.ts';

await runService('topic-init', async (logger) => {
  const config = loadConfig(serviceSpecs['topic-init']);
  logger.level = config.LOG_LEVEL;
  const result = await runTopicInit(config, logger);
  logger.info(result, 'topics and schemas are in place');
});
