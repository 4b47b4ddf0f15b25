// Kafka client factory: one place that sets client ids, retries and routes
// kafkajs's own logs into the service's pino logger.
import { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
import type { Logger } from './logger.ts';

/** The producer's client settings: idempotent (so a broker retry never duplicates), up to five requests in flight. */
export const PRODUCER_SETTINGS = { idempotent: true, maxInFlightRequests: 5 } as const;
/** Records per send when the producer has no interval between them. */
export const SEND_BATCH = 500;
/** How the consumer fetches: a long poll of at most 250 ms, up to 8 partitions' batches processed at once. */
export const FETCH_SETTINGS = { maxWaitTimeInMs: 250, partitionsConsumedConcurrently: 8 } as const;

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export interface KafkaOptions {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
  /** kafkajs's own connection retries; defaults suit long-running services. */
  retries?: number;
}

export function createKafka({ brokers, clientId, logger, retries = 8 }: KafkaOptions): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    brokers: [...brokers],
    clientId,
    retry: { retries, initialRetryTime: 300, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, ...extra } = log;
        kafkaLogger[levels[level] ?? 'info']({ namespace, ...extra }, message);
      },
  });
}

/**
 * Connects an admin client, polling until the cluster answers metadata or the
 * deadline passes; the error then names the brokers that did not answer.
 */
export async function connectAdmin(kafka: Kafka, brokers: readonly string[], timeoutMs: number): Promise<Admin> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return admin;
    } catch (error) {
      lastError = error;
      await admin.disconnect().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))));
    }
  }
  throw new Error(
    `Kafka did not answer at ${brokers.join(',')} within ${timeoutMs} ms (KAFKA_BROKERS): ${String(lastError)}`,
    { cause: lastError },
  );
}
