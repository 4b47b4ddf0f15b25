// The topics the consumer writes to (DLQ, retry topics, order-stats): how
// many partitions each has and how large a record batch each accepts. A dead
// letter or retry record keeps its original partition only where that
// partition exists; elsewhere the key decides (kafkajs would otherwise drop
// the record without a word). Read at start, after each rebalance and after
// a failed commit, so a topic altered or recreated meanwhile is seen.
import kafkajs, { type Admin } from 'kafkajs';
import { ConfigError } from '../lib/config.ts';
import type { Logger } from '../lib/logger.ts';
import { RECORD_BATCH_OVERHEAD } from '../lib/record-size.ts';

// kafkajs is CommonJS; Node's ESM loader sees only its first few exports by name.
const { ConfigResourceTypes } = kafkajs;

interface TopicFacts {
  partitions: number;
  /** The topic's max.message.bytes: the largest record batch it accepts. */
  maxBatchBytes: number;
}

export class Destinations {
  private facts = new Map<string, TopicFacts>();
  private ordersPartitions = 0;
  /** Topics already reported as having fewer partitions than orders, with the count reported. */
  private readonly reported = new Map<string, number>();

  private readonly topics: readonly string[];

  /** `routed`: the topics whose records keep their original partition (DLQ, retry topics). */
  constructor(
    private readonly admin: Admin,
    private readonly ordersTopic: string,
    private readonly routed: readonly string[],
    statsTopic: string,
    private readonly logger: Logger,
  ) {
    this.topics = [...routed, statsTopic];
  }

  async refresh(): Promise<void> {
    const names = [this.ordersTopic, ...this.topics];
    const { topics } = await this.admin.fetchTopicMetadata({ topics: names });
    const { resources } = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: this.topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['max.message.bytes'],
      })),
    });
    const facts = new Map<string, TopicFacts>();
    for (const name of this.topics) {
      const partitions = topics.find((topic) => topic.name === name)?.partitions.length ?? 0;
      const entry = resources.find((resource) => resource.resourceName === name)?.configEntries[0];
      facts.set(name, { partitions, maxBatchBytes: Number(entry?.configValue ?? 1_048_588) });
    }
    this.facts = facts;
    this.ordersPartitions = topics.find((topic) => topic.name === this.ordersTopic)?.partitions.length ?? 0;
    this.reportShortTopics();
  }

  /** `origin` when `topic` has that partition, else undefined: the producer's partitioner places the record by key. */
  partitionFor(topic: string, origin: number): number | undefined {
    return origin < (this.facts.get(topic)?.partitions ?? 0) ? origin : undefined;
  }

  /** The largest single record `topic` accepts, in recordBytes terms. */
  maxRecordBytes(topic: string): number {
    return this.fact(topic).maxBatchBytes - RECORD_BATCH_OVERHEAD;
  }

  /** Refuses a COMMIT_MAX_BYTES that a transaction's record batch could not fit in. */
  checkCommitMaxBytes(commitMaxBytes: number): void {
    const tightest = Math.min(...this.topics.map((topic) => this.maxRecordBytes(topic)));
    if (commitMaxBytes > tightest) {
      const topic = this.topics.find((name) => this.maxRecordBytes(name) === tightest);
      throw new ConfigError({
        COMMIT_MAX_BYTES:
          `${commitMaxBytes} does not fit: ${topic} accepts record batches of at most ` +
          `${this.fact(topic!).maxBatchBytes} bytes (max.message.bytes), ${RECORD_BATCH_OVERHEAD} of them framing; ` +
          `set at most ${tightest}`,
      });
    }
  }

  private fact(topic: string): TopicFacts {
    const fact = this.facts.get(topic);
    if (fact === undefined) throw new Error(`${topic} is not a topic this consumer writes to`);
    return fact;
  }

  private reportShortTopics(): void {
    for (const topic of this.routed) {
      const { partitions } = this.fact(topic);
      if (partitions >= this.ordersPartitions) {
        this.reported.delete(topic);
        continue;
      }
      if (this.reported.get(topic) === partitions) continue;
      this.reported.set(topic, partitions);
      this.logger.error(
        { topic, partitions, ordersTopic: this.ordersTopic, ordersPartitions: this.ordersPartitions },
        `${topic} has fewer partitions than ${this.ordersTopic}: ` +
          'records from the partitions it lacks are placed by key (run topic-init to add partitions)',
      );
    }
  }
}
