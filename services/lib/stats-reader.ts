// Follows the compacted order-stats topic (read_committed) and keeps the
// latest record per key. The consumer restores a partition's state from it;
// the DLQ service serves the aggregate from it. It never commits offsets: its
// group id is unique to the process and it always reads from the beginning.
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from './logger.ts';
import { combineStats, type PartitionStats, type StatsView } from './order-stats.ts';

export class StatsReader {
  private readonly latest = new Map<string, PartitionStats>();
  private readonly waiters = new Set<() => void>();
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `order-stats-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (message.key === null || message.value === null) return;
        try {
          this.latest.set(message.key.toString(), JSON.parse(message.value.toString()) as PartitionStats);
        } catch (error) {
          this.logger.warn({ err: error, offset: message.offset }, 'order-stats record is not JSON; ignored');
        }
        for (const wake of this.waiters) wake();
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  get(key: string): PartitionStats | undefined {
    return this.latest.get(key);
  }

  /** Every partition's stats of one consumer group, combined. */
  view(group: string): StatsView {
    return combineStats([...this.latest.values()].filter((stats) => stats.group === group));
  }

  /**
   * Resolves with the record for `key` once `accept` holds for it (undefined
   * when accepted absent), or rejects when the deadline passes first.
   */
  waitFor(key: string, accept: (stats: PartitionStats | undefined) => boolean, timeoutMs: number): Promise<PartitionStats | undefined> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const stats = this.latest.get(key);
        if (!accept(stats)) return false;
        done();
        resolve(stats);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`order-stats has no acceptable record for ${key} after ${timeoutMs} ms (last seen: ${JSON.stringify(this.latest.get(key)?.nextOffset ?? null)})`));
      }, timeoutMs);
      const wake = () => void check();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
      check();
    });
  }
}
