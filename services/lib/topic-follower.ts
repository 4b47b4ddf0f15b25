// Reads a topic from the beginning (or from offsets the caller kept) and then
// follows it, read_committed, with a group id of its own
// (`<purpose>-<topic>-<uuid>`) that never commits: the follower itself
// remembers nothing between starts. It knows how far it has read per partition, so a
// caller can wait until it has caught up with the end of the topic as it was
// when asked, or be told after each batch read. The one way the services and
// the lab read a topic whole: the DLQ service's index and replay state, the
// order-stats reader, the lab's readers.
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from './logger.ts';
import { wait } from './retry.ts';

type BatchHandler = (payload: EachBatchPayload) => Promise<void>;

const CATCH_UP_POLL_MS = 50;

export class TopicFollower {
  private readonly groupId: string;
  private readonly consumer: Consumer;
  /** Per partition, the offset after the last one read (transaction markers included). */
  private readonly positions = new Map<number, bigint>();
  private readonly progressListeners = new Set<() => void>();
  /** Resolves once the follower's group has been joined (it holds the topic's partitions). */
  readonly joined: Promise<void>;

  constructor(
    kafka: Kafka,
    private readonly admin: Admin,
    readonly topic: string,
    purpose: string,
    private readonly handle: BatchHandler,
    private readonly logger: Logger,
  ) {
    this.groupId = `${purpose}-${topic}-${randomUUID()}`;
    this.consumer = kafka.consumer({ groupId: this.groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000 });
    // Emitted for every fetched batch, including those that held only
    // transaction markers or aborted records, which never reach the handler:
    // without them the position would stop short of the end of the topic.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const next = BigInt(payload.lastOffset) + 1n;
      if (next > this.position(payload.partition)) this.positions.set(payload.partition, next);
      for (const listener of this.progressListeners) listener();
    });
    this.joined = new Promise((resolve) => this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve()));
  }

  /**
   * Starts reading: from the beginning, or for the partitions in `from` at
   * the offset given (where a caller that keeps what it read stopped). An
   * offset the topic no longer holds falls back to its beginning.
   */
  async start(from?: ReadonlyMap<number, bigint>): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    if (from !== undefined) {
      for (const [partition, offset] of from) this.positions.set(partition, offset);
      // The group commits nothing, so kafkajs would start a partition over at every rejoin (a broker restart,
      // a session lost): a caller that keeps what it read goes on from where it was, then and now.
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        for (const [partition, offset] of this.positions) {
          this.consumer.seek({ topic: this.topic, partition, offset: String(offset) });
        }
      });
    }
    await this.consumer.run({ autoCommit: false, eachBatch: this.handle });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    // The group never committed anything; it only clutters the broker's list.
    await this.admin
      .deleteGroups([this.groupId])
      .catch((error: unknown) =>
        this.logger.debug({ err: error, groupId: this.groupId }, 'could not delete the group'),
      );
  }

  /** The offset after the last one read in `partition` (0 before the first batch). */
  position(partition: number): bigint {
    return this.positions.get(partition) ?? 0n;
  }

  /** Calls `listener` after every batch read, once its position is counted; returns what stops the calls. */
  onProgress(listener: () => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  /** Records between what was read and the end of each partition now (asks the broker). */
  async lag(): Promise<number> {
    const ends = await this.admin.fetchTopicOffsets(this.topic);
    let lag = 0n;
    for (const { partition, high, low } of ends) {
      const behind = BigInt(high) - (this.positions.get(partition) ?? BigInt(low));
      if (behind > 0n) lag += behind;
    }
    return Number(lag);
  }

  /** Resolves once everything in the topic when called has been read; rejects after `timeoutMs`. */
  async waitUntilCaughtUp(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ends = await this.admin.fetchTopicOffsets(this.topic);
    const behind = () =>
      ends.filter(({ partition, high, low }) => high !== low && this.position(partition) < BigInt(high));
    for (;;) {
      const remaining = behind();
      if (remaining.length === 0) return;
      if (Date.now() >= deadline) {
        const detail = remaining
          .map(({ partition, high }) => `partition ${partition}: read to ${this.position(partition)} of ${high}`)
          .join(', ');
        throw new Error(`${this.topic} not read to its end within ${timeoutMs} ms (${detail})`);
      }
      if (!(await wait(CATCH_UP_POLL_MS, signal))) throw new Error(`stopped while waiting for ${this.topic}`);
    }
  }
}
