// Kafka client factory: one place that sets client ids, retries and routes
// kafkajs's own logs into the service's pino logger.
import { Kafka, logLevel, Partitioners, type Admin, type LogEntry } from 'kafkajs';
import type { Logger } from './logger.ts';

/**
 * Every producer's partitioner, named: kafkajs 2's default, the Java client's
 * murmur2 of the key (an order lands where a Java producer would put it).
 * Left implicit, kafkajs warns at each start that its default changed in 2.0.
 */
export const KEYED_PARTITIONER = { createPartitioner: Partitioners.DefaultPartitioner } as const;
/** The producer's client settings: idempotent (so a broker retry never duplicates), up to five requests in flight. */
export const PRODUCER_SETTINGS = { ...KEYED_PARTITIONER, idempotent: true, maxInFlightRequests: 5 } as const;
/**
 * A transactional producer's client settings (the consumer's lanes): idempotent, one request in flight, and
 * quick retries. A transaction that starts while the coordinator still writes the previous one's commit markers
 * is refused with CONCURRENT_TRANSACTIONS, which clears within milliseconds. kafkajs's first retry would come
 * after 300 ms, on every such refusal: latency spikes of a third of a second and idle lanes. Retry after 5 ms
 * instead, doubling up to 10 s: about 40 s of retries in all. That bound is deliberate, and kafkajs's warning that
 * limited retries "may invalidate EoS guarantees" does not apply: when the retries run out the processor reopens
 * the lane, which fences this producer and aborts its open transaction, and redoes the batch from what is committed
 * (kafkajs's default would retry for ever).
 */
export const TRANSACTIONAL_SETTINGS = {
  ...KEYED_PARTITIONER,
  idempotent: true,
  maxInFlightRequests: 1,
  retry: { initialRetryTime: 5, maxRetryTime: 10_000, retries: 14 },
} as const;
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

/**
 * Errors kafkajs logs at error level as each response arrives, before the
 * layer above retries them: a coordinator that is not elected yet, still
 * loading, or has moved (every start on a new cluster, where __consumer_offsets
 * and __transaction_state are created on first use, and after a broker
 * restart). They are logged at debug; if the retries run out, the caller gets
 * the error and the service reports it where it handles it.
 */
const RETRIED_COORDINATOR_ERRORS = new Set([
  'The group coordinator is not available',
  "The coordinator is loading and hence can't process requests for this group",
  'This is not the correct coordinator for this group',
]);
/**
 * kafkajs warns that an idempotent producer with bounded retries "may
 * invalidate EoS guarantees". The bounds here are deliberate: a transactional
 * lane that runs out of retries is reopened, which fences the old producer and
 * aborts its transaction (services/consumer/lane.ts), and the demo producer
 * counts a send that fails for good as an error instead of blocking for ever.
 */
const REVIEWED_WARNINGS = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/** The level a kafkajs log line is written at: its own, but debug for the lines above. */
export function kafkajsLogLevel(level: number, message: string, error: unknown): 'error' | 'warn' | 'info' | 'debug' {
  if (level === logLevel.ERROR && typeof error === 'string' && RETRIED_COORDINATOR_ERRORS.has(error)) return 'debug';
  if (level === logLevel.WARN && REVIEWED_WARNINGS.has(message)) return 'debug';
  return levels[level] ?? 'info';
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
        kafkaLogger[kafkajsLogLevel(level, message, extra.error)]({ namespace, ...extra }, message);
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
