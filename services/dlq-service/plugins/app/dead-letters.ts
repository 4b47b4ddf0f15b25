// The DLQ archive, replay state and replayer (see dead-letters.ts), started
// with the app and stopped when it closes.
import { Gauge } from 'prom-client';
import type { ServiceConfig } from '../../../lib/config.ts';
import type { Logger } from '../../../lib/logger.ts';
import { DeadLetters } from '../../dead-letters.ts';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    deadLetters: DeadLetters;
  }
}

export default fp<{ config: ServiceConfig<'dlq-service'>; logger: Logger }>(async function deadLetters(
  app,
  { config, logger },
) {
  const deadLetters = new DeadLetters({
    kafka: app.kafka.client,
    admin: app.kafka.admin,
    serde: app.kafka.serde,
    dlqTopic: config.DLQ_TOPIC,
    replaysTopic: config.REPLAYS_TOPIC,
    maxReplays: config.DLQ_MAX_REPLAYS,
    dbPath: config.DLQ_DB_PATH,
    archiveMaxAgeMs: config.DLQ_ARCHIVE_MAX_AGE_DAYS * 24 * 3600 * 1000,
    archiveMaxRecords: config.DLQ_ARCHIVE_MAX_RECORDS,
    logger,
    onReplayOutcome: (outcome, count) => app.metrics.replays.inc({ outcome }, count),
  });
  new Gauge({
    name: 'dlq_archive_records',
    help: 'Dead letters in the archive',
    registers: [app.metrics.registry],
    collect() {
      this.set(deadLetters.archive.size);
    },
  });
  app.decorate('deadLetters', deadLetters);
  app.addHook('onClose', () => deadLetters.stop());
  await deadLetters.start();
});
