// The two Kafka clients the floor benchmarks drive through one small interface,
// each with the services' client settings, as far as each client takes them:
// - kafkajs (the project's), built by services/lib/kafka.ts;
// - Confluent's @confluentinc/kafka-javascript (librdkafka) through its
//   KafkaJS-compatible API, loaded from the directory it was installed in
//   (scripts/bench/confluent-client.ts). Its differences are kept here: options
//   inside a `kafkaJS` block, acks and fromBeginning per client instead of per
//   call, and KIP-447 offsets (sendOffsets names the consumer, not its group).
import { createRequire } from 'node:module';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { createKafka, FETCH_SETTINGS, PRODUCER_SETTINGS, TRANSACTIONAL_SETTINGS } from '../../services/lib/kafka.ts';
import { createLogger } from '../../services/lib/logger.ts';

export const CLIENTS = ['kafkajs', 'confluent'] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface OutgoingMessage {
  key: Buffer | string | null;
  value: Buffer | null;
  headers?: Record<string, string>;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: { key: Buffer | null; value: Buffer | null; offset: string }[];
}

export interface TopicOffsets {
  topic: string;
  partitions: { partition: number; offset: string }[];
}

export interface FloorConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Subscribes from the beginning of the topic (for a group without committed offsets). */
  subscribe(topic: string): Promise<void>;
  /** Starts fetching; `eachBatch` gets each batch, up to `concurrency` partitions' batches at once. */
  run(eachBatch: (batch: ConsumedBatch) => Promise<void>, concurrency: number): Promise<void>;
}

export interface FloorProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** One send, acks=all, awaited until every record is acknowledged. */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** One transaction: the messages, the consumer's offsets (committed with them), commit; aborted on error. */
  transact(topic: string, messages: OutgoingMessage[], consumer: FloorConsumer, offsets: TopicOffsets[]): Promise<void>;
}

export interface ConsumerOptions {
  autoCommit: boolean;
  onJoin: () => void;
}

export interface FloorClient {
  name: ClientName;
  producer(options?: { transactionalId?: string }): FloorProducer;
  /** `autoCommit: false` leaves committing offsets to transactions; `onJoin` is called once partitions are assigned. */
  consumer(groupId: string, options: ConsumerOptions): FloorConsumer;
}

/** The kafkajs producer and consumer calls both clients share (the Confluent client's are a compatible subset). */
interface CompatibleProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: OutgoingMessage[]; acks?: number }): Promise<unknown>;
  transaction(): Promise<CompatibleTransaction>;
}

interface CompatibleTransaction {
  send(record: { topic: string; messages: OutgoingMessage[] }): Promise<unknown>;
  sendOffsets(args: { topics: TopicOffsets[]; consumerGroupId?: string; consumer?: unknown }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

interface CompatibleConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: { topics: string[]; fromBeginning?: boolean }): Promise<void>;
  run(config: {
    partitionsConsumedConcurrently: number;
    autoCommit?: boolean;
    eachBatch: (payload: { batch: ConsumedBatch }) => Promise<void>;
  }): Promise<void>;
}

/** What the benchmark uses of `require('@confluentinc/kafka-javascript').KafkaJS` (the package ships no ESM types). */
interface ConfluentKafkaJS {
  Kafka: new (config: {
    kafkaJS: Record<string, unknown>;
  }) => {
    producer(config: Record<string, unknown>): CompatibleProducer;
    consumer(config: Record<string, unknown>): CompatibleConsumer;
  };
  logLevel: { ERROR: number };
}

/** Wraps a KafkaJS-API producer; `offsetsArgs` is where the two clients' sendOffsets differ. */
function floorProducer(
  producer: CompatibleProducer,
  offsetsArgs: (consumer: FloorConsumer) => { consumerGroupId?: string; consumer?: unknown },
  acksPerSend: boolean,
): FloorProducer {
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(topic, messages) {
      await producer.send({ topic, messages, ...(acksPerSend ? { acks: -1 } : {}) });
    },
    async transact(topic, messages, consumer, offsets) {
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic, messages });
        await transaction.sendOffsets({ topics: offsets, ...offsetsArgs(consumer) });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    },
  };
}

/** A consumer wrapper that remembers its group and the client's own consumer object (for sendOffsets). */
class WrappedConsumer implements FloorConsumer {
  constructor(
    readonly groupId: string,
    readonly inner: CompatibleConsumer,
    /** kafkajs takes fromBeginning and autoCommit per call; the Confluent client per consumer. */
    private readonly perCall: { fromBeginning?: boolean; autoCommit?: boolean },
  ) {}

  connect(): Promise<void> {
    return this.inner.connect();
  }

  disconnect(): Promise<void> {
    return this.inner.disconnect();
  }

  // The Confluent client refuses the per-call options even when undefined, so they are left out unless set.
  subscribe(topic: string): Promise<void> {
    const { fromBeginning } = this.perCall;
    return this.inner.subscribe({ topics: [topic], ...(fromBeginning === undefined ? {} : { fromBeginning }) });
  }

  run(eachBatch: (batch: ConsumedBatch) => Promise<void>, concurrency: number): Promise<void> {
    const { autoCommit } = this.perCall;
    return this.inner.run({
      partitionsConsumedConcurrently: concurrency,
      ...(autoCommit === undefined ? {} : { autoCommit }),
      eachBatch: ({ batch }) => eachBatch(batch),
    });
  }
}

function unwrap(consumer: FloorConsumer): WrappedConsumer {
  if (!(consumer instanceof WrappedConsumer)) throw new Error('sendOffsets needs a consumer of the same client');
  return consumer;
}

function kafkajsClient(brokers: string[], clientId: string): FloorClient {
  const kafka: Kafka = createKafka({ brokers, clientId, logger: createLogger('floor', 'error') });
  return {
    name: 'kafkajs',
    producer: (options = {}) =>
      floorProducer(
        kafka.producer(
          options.transactionalId === undefined
            ? PRODUCER_SETTINGS
            : {
                // The consumer lanes' settings (librdkafka retries a CONCURRENT_TRANSACTIONS refusal itself).
                ...TRANSACTIONAL_SETTINGS,
                transactionalId: options.transactionalId,
              },
        ) as unknown as CompatibleProducer,
        (consumer) => ({ consumerGroupId: unwrap(consumer).groupId }),
        true,
      ),
    consumer: (groupId, { autoCommit, onJoin }) => {
      const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: FETCH_SETTINGS.maxWaitTimeInMs });
      consumer.on(consumer.events.GROUP_JOIN, onJoin);
      const compatible: CompatibleConsumer = {
        connect: () => consumer.connect(),
        disconnect: () => consumer.disconnect(),
        subscribe: (subscription) => consumer.subscribe(subscription),
        run: ({ eachBatch, ...config }) =>
          consumer.run({ ...config, eachBatch: (payload: EachBatchPayload) => eachBatch(payload) }),
      };
      return new WrappedConsumer(groupId, compatible, { fromBeginning: true, autoCommit });
    },
  };
}

function confluentClient(brokers: string[], clientId: string, dir: string): FloorClient {
  const { Kafka, logLevel } = (createRequire(import.meta.url)(dir) as { KafkaJS: ConfluentKafkaJS }).KafkaJS;
  const kafka = new Kafka({ kafkaJS: { brokers, clientId, logLevel: logLevel.ERROR } });
  return {
    name: 'confluent',
    producer: (options = {}) =>
      floorProducer(
        kafka.producer({
          // Its default partitioner (murmur2_random) puts a keyed record where kafkajs's DefaultPartitioner does.
          kafkaJS:
            options.transactionalId === undefined
              ? { idempotent: true, acks: -1, maxInFlightRequests: PRODUCER_SETTINGS.maxInFlightRequests }
              : {
                  idempotent: true,
                  acks: -1,
                  transactionalId: options.transactionalId,
                  maxInFlightRequests: TRANSACTIONAL_SETTINGS.maxInFlightRequests,
                },
        }),
        (consumer) => ({ consumer: unwrap(consumer).inner }),
        false,
      ),
    consumer: (groupId, { autoCommit, onJoin }) =>
      new WrappedConsumer(
        groupId,
        kafka.consumer({
          kafkaJS: { groupId, fromBeginning: true, autoCommit, maxWaitTimeInMs: FETCH_SETTINGS.maxWaitTimeInMs },
          // Called with the partitions assigned (and, at the end, revoked); returning nothing keeps the client's
          // own handling. The counterpart of kafkajs's GROUP_JOIN event, which this API does not emit.
          rebalance_cb: (_error: unknown, assignment: unknown[]) => {
            if (assignment.length > 0) onJoin();
          },
        }),
        {},
      ),
  };
}

/** The named client; `confluentDir` is the installed @confluentinc/kafka-javascript package directory. */
export function floorClient(name: ClientName, brokers: string[], clientId: string, confluentDir?: string): FloorClient {
  if (name === 'kafkajs') return kafkajsClient(brokers, clientId);
  if (confluentDir === undefined) throw new Error('the Confluent client needs the directory it is installed in');
  return confluentClient(brokers, clientId, confluentDir);
}
