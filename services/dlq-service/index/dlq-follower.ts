// Feeds the DLQ index: follows the DLQ topic, decodes each value and adds the
// record. While the registry cannot answer, the follower waits (capped
// backoff, heartbeating) and tries the same record again: a record is indexed
// once, with the outcome of a real decode, never with "registry down" as its
// reason.
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import { RegistryUnreachableError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { backoffDelay, wait } from '../../lib/retry.ts';
import type { DlqIndex } from './dlq-index.ts';
import { Interner, toEntry } from './entry.ts';
import { TopicFollower } from '../../lib/topic-follower.ts';
import type { ValueDecoder } from './value-decoder.ts';

const REGISTRY_WAIT = { baseMs: 250, factor: 2, maxMs: 5000, jitter: 0.2, maxRetries: Number.POSITIVE_INFINITY };

export class DlqFollower {
  readonly follower: TopicFollower;
  private readonly strings = new Interner();
  private readonly stopping = new AbortController();

  constructor(
    kafka: Kafka,
    admin: Admin,
    topic: string,
    private readonly index: DlqIndex,
    private readonly decoder: ValueDecoder,
    private readonly logger: Logger,
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

  start(): Promise<void> {
    return this.follower.start();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.follower.stop();
  }

  private async indexBatch({ batch, heartbeat, isRunning }: EachBatchPayload): Promise<void> {
    for (const message of batch.messages) {
      for (let outage = 1; ; outage += 1) {
        try {
          this.index.add(toEntry(batch.partition, message, await this.decoder.decode(message.value), this.strings));
          break;
        } catch (error) {
          if (!(error instanceof RegistryUnreachableError)) throw error;
          const delayMs = backoffDelay(REGISTRY_WAIT, outage);
          this.logger.warn(
            { topic: batch.topic, partition: batch.partition, offset: message.offset, delayMs, err: error },
            'registry unreachable; waiting to decode the dead letter',
          );
          if (!isRunning() || !(await wait(delayMs, this.stopping.signal))) return;
          await heartbeat();
        }
      }
    }
  }
}
