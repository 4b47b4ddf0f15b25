// The Kafka and registry clients the service shares.
import type { Admin, Kafka } from 'kafkajs';
import type { ServiceConfig } from '../../../lib/config.ts';
import { connectAdmin, createKafka } from '../../../lib/kafka.ts';
import type { Logger } from '../../../lib/logger.ts';
import { Serde } from '../../../lib/serde.ts';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    kafka: { client: Kafka; admin: Admin; serde: Serde };
  }
}

const CONNECT_TIMEOUT_MS = 60_000;

export default fp<{ config: ServiceConfig<'dlq-service'>; logger: Logger }>(async function kafka(
  app,
  { config, logger },
) {
  const client = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'dlq-service', logger });
  const admin = await connectAdmin(client, config.KAFKA_BROKERS, CONNECT_TIMEOUT_MS);
  app.decorate('kafka', { client, admin, serde: new Serde(config.SCHEMA_REGISTRY_URL) });
  app.addHook('onClose', () => admin.disconnect());
});
