// topic-init: waits for the broker and registry (with a deadline), creates the
// topics that are missing, grows retry topics and the DLQ to the partitions of
// the orders topic, and registers the order schema. Running it again changes
// nothing.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import type { ServiceConfig } from '../lib/config.ts';
import { RegistryUnreachableError } from '../lib/errors.ts';
import { connectAdmin, createKafka } from '../lib/kafka.ts';
import type { Logger } from '../lib/logger.ts';
import { readSchemaFile, Serde } from '../lib/serde.ts';
import { valueSubject } from '../lib/topics.ts';
import { ensureTopics, topicPlan, type EnsureResult } from './topics.ts';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface TopicInitResult extends EnsureResult {
  subject: string;
  schemaId: number;
}

export async function runTopicInit(config: ServiceConfig<'topic-init'>, logger: Logger): Promise<TopicInitResult> {
  const deadline = Date.now() + config.INIT_TIMEOUT_MS;
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'topic-init', logger, retries: 2 });
  const admin = await connectAdmin(kafka, config.KAFKA_BROKERS, config.INIT_TIMEOUT_MS);
  let topics: EnsureResult;
  try {
    topics = await ensureTopics(admin, topicPlan(config), logger);
  } finally {
    await admin.disconnect();
  }

  const schemaText = await readSchemaFile(resolve(projectRoot, config.SCHEMA_FILE));
  const subject = valueSubject(config.ORDERS_TOPIC);
  const serde = new Serde(config.SCHEMA_REGISTRY_URL);
  const schemaId = await untilRegistryAnswers(deadline, config, () => serde.register(schemaText, subject, 'BACKWARD'));
  return { ...topics, subject, schemaId };
}

async function untilRegistryAnswers<T>(
  deadline: number,
  config: ServiceConfig<'topic-init'>,
  call: () => Promise<T>,
): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof RegistryUnreachableError)) throw error;
      if (Date.now() >= deadline) {
        throw new Error(
          `schema registry did not answer at ${config.SCHEMA_REGISTRY_URL} within ${config.INIT_TIMEOUT_MS} ms ` +
            `(SCHEMA_REGISTRY_URL): ${error.message}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
