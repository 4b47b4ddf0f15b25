// Feeds the DLQ archive: follows the DLQ topic from where the archive
// stopped, decodes each value, and archives each batch with the position
// after it in one transaction. While the registry cannot answer, the follower
// waits (capped backoff, heartbeating) and tries the same record again: a
// record is archived once, with the outcome of a real decode, never with
// "registry down" as its reason.
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import { RegistryUnreachableError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { backoffDelay, wait } from '../../lib/retry.ts';
import type { DlqArchive } from './dlq-archive.ts';
import { toEntry, type DlqEntry } from './entry.ts';
import { TopicFollower } from '../../lib/topic-follower.ts';
import type { ValueDecoder } from './value-decoder.ts';

const REGISTRY_WAIT = { baseMs: 250, factor: 2, maxMs: 5000, jitter: 0.2, maxRetries: Number.POSITIVE_INFINITY };

export class DlqFollower {
  readonly follower: TopicFollower;
  private readonly stopping = new AbortController();

  constructor(
    kafka: Kafka,
    admin: Admin,
    topic: string,
    private readonly archive: DlqArchive,
    private readonly decoder: ValueDecoder,
    private readonly logger: Logger,
    /** The record's replay count so far (the replay state may be read before the record). */
    private readonly replaysOf: (partition: number, offset: number) => number,
  ) {
    this.follower = new TopicFollower(
      kafka,
      admin,
      topic,
      'dlq-service',
      (payload) => this.indexBatch(payload),
      logger,
    );
  }

  /** Reads on from the positions the archive kept. */
  start(): Promise<void> {
    return this.follower.start(this.archive.positions());
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.follower.stop();
  }

  private async indexBatch({ batch, heartbeat, isRunning }: EachBatchPayload): Promise<void> {
    const entries: DlqEntry[] = [];
    const archive = (nextOffset: bigint) =>
      this.archive.addBatch(batch.partition, entries, nextOffset, (entry) =>
        this.replaysOf(entry.partition, entry.offset),
      );
    for (const message of batch.messages) {
      for (let outage = 1; ; outage += 1) {
        try {
          entries.push(toEntry(batch.partition, message, await this.decoder.decode(message.value)));
          break;
        } catch (error) {
          if (!(error instanceof RegistryUnreachableError)) throw error;
          const delayMs = backoffDelay(REGISTRY_WAIT, outage);
          this.logger.warn(
            { topic: batch.topic, partition: batch.partition, offset: message.offset, delayMs, err: error },
            'registry unreachable; waiting to decode the dead letter',
          );
          if (!isRunning() || !(await wait(delayMs, this.stopping.signal))) {
            archive(BigInt(message.offset)); // what was decoded; the rest is read again at the next start
            return;
          }
          await heartbeat();
        }
      }
    }
    // Past the batch's last offset: transaction markers after the last record need not be read again.
    archive(BigInt(batch.lastOffset()) + 1n);
  }
}
