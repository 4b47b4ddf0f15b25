// The batch loop: one batch (one partition) at a time, each record's fate
// from decide.ts (decode -> validate -> downstream), with the failure routing
// the lab is about:
// - permanent failures (undecodable, invalid, a malformed retry envelope) go
//   to the DLQ at once;
// - transient failures are retried with exponential backoff, in place
//   (blocking mode: the partition is paused until the retry is due, so its
//   order holds while the consumer's other partitions keep flowing) or
//   through retry topics (topics mode: the partition moves on), then DLQ;
// - infrastructure failures (registry down, a commit that fails) are waited
//   out with a capped backoff without spending the order's retry budget.
// Outcomes become durable only through a PendingCommit (one transaction); a
// record is resolved (its offset may move on) and counted in the metrics
// only after that (blocking-mode retries, which write nothing, are counted
// when scheduled).
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from '../lib/logger.ts';
import { backoffDelay, wait, type BackoffPolicy } from '../lib/retry.ts';
import type { Serde } from '../lib/serde.ts';
import { BlockingRetries, recordKey } from './blocking-retries.ts';
import { asError } from './classify.ts';
import { deadLetter, decide, type Decision, type DecideOptions } from './decide.ts';
import type { Destinations } from './destinations.ts';
import type { DownstreamOptions } from './downstream.ts';
import type { ConsumerHealth } from './health.ts';
import { GroupChanged, Heartbeats } from './heartbeats.ts';
import { PartitionLane, type LaneDeps } from './lane.ts';
import type { ConsumerMetrics } from './metrics.ts';
import { PendingCommit, type Committed } from './pending-commit.ts';
import { MalformedEnvelopeError, type Envelope, type Origin, type RetryTopics } from './retry-topics.ts';

export interface ProcessorOptions {
  lanes: LaneDeps;
  serde: Serde;
  logger: Logger;
  metrics: ConsumerMetrics;
  health: ConsumerHealth;
  policy: BackoffPolicy;
  mode: 'blocking' | 'topics';
  retryTopics: RetryTopics;
  destinations: Destinations;
  dlqTopic: string;
  downstream: DownstreamOptions;
  commitMaxRecords: number;
  /** Most bytes one transaction writes (dead letters, retry records, order-stats records). */
  commitMaxBytes: number;
  infraRetryMaxMs: number;
  /** Aborted on shutdown: every wait is cut short and nothing unfinished is committed. */
  signal: AbortSignal;
}

/** The handler stopped early (shutdown); the unfinished record stays uncommitted. */
class Interrupted extends Error {}

export class OrderProcessor {
  private readonly lanes = new Map<string, Promise<PartitionLane>>();
  private readonly blockingRetries = new BlockingRetries();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  /** The lanes of the previous assignment being closed (resolved when there are none). */
  private closing: Promise<void> = Promise.resolve();

  /** What decide() needs, from the processor's options. */
  private readonly decideOptions: DecideOptions;

  constructor(private readonly options: ProcessorOptions) {
    const { serde, downstream, policy, mode, retryTopics, destinations, dlqTopic, lanes } = options;
    this.decideOptions = {
      // At once when the schema is known; the registry is asked only for a new schema id.
      decode: (value) => serde.decodeKnown(value) ?? serde.decode(value),
      downstream,
      policy,
      mode,
      retryTopics,
      destinations,
      dlqTopic,
      consumerGroup: lanes.group,
    };
  }

  /** After a rebalance, state must be restored again from what Kafka holds. */
  closeLanes(): Promise<void> {
    const lanes = [...this.lanes.values()];
    this.lanes.clear();
    this.blockingRetries.clear();
    const closing = Promise.all(lanes.map(async (lane) => (await lane.catch(() => undefined))?.close()));
    this.closing = closing.then(() => undefined);
    return this.closing;
  }

  /**
   * Opens the lanes of newly assigned partitions of `topic` in the
   * background, so a partition's state is restored (and an offset moved
   * outside the consumer is found) when the partition is taken, not when its
   * next record happens to arrive.
   */
  openLanes(topic: string, partitions: readonly number[]): void {
    for (const partition of partitions) {
      this.lane(topic, partition).catch((error: unknown) => {
        this.options.logger.warn(
          { err: error, topic, partition },
          'could not open the partition yet; its next batch tries again',
        );
      });
    }
  }

  async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { metrics, health, logger } = this.options;
    const heartbeats = new Heartbeats(payload);
    let failures = 0;
    try {
      for (;;) {
        if (!payload.isRunning() || payload.isStale()) return;
        try {
          const lane = await this.lane(batch.topic, batch.partition);
          heartbeats.check();
          await this.processBatch(lane, payload, heartbeats);
          health.progressed(batch.topic, batch.partition);
          metrics.setLag(batch.topic, batch.partition, Number(batch.offsetLag()));
          return;
        } catch (error) {
          if (error instanceof Interrupted || error instanceof GroupChanged) throw error;
          // The lane's producer or state may be out of step with Kafka now:
          // reopen it (fence, restore) and redo the batch from what is durable.
          failures += 1;
          health.failed(batch.topic, batch.partition, asError(error));
          await this.dropLane(batch.topic, batch.partition);
          // A topic may have been altered or recreated: route by what is there now.
          await this.options.destinations.refresh().catch((refreshError: unknown) => {
            logger.warn({ err: refreshError }, 'could not read the partitions of the topics the consumer writes to');
          });
          const delay = this.infraDelay(failures);
          metrics.infrastructureWaits.inc();
          logger.error(
            { err: error, topic: batch.topic, partition: batch.partition, attempt: failures, delayMs: delay },
            'could not make outcomes durable; retrying the batch',
          );
          await this.pause(delay, heartbeats);
        }
      }
    } catch (error) {
      if (error instanceof Interrupted) return;
      if (error instanceof GroupChanged) throw error.kafkaError;
      throw error;
    } finally {
      heartbeats.stop();
    }
  }

  private lane(topic: string, partition: number): Promise<PartitionLane> {
    const key = `${topic}/${partition}`;
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      // After the lanes of the previous assignment are closed: an open still
      // running from before a rebalance would otherwise fence this one.
      const opening = this.closing.then(() => PartitionLane.open(this.options.lanes, topic, partition));
      this.lanes.set(key, opening);
      opening.catch(() => {
        if (this.lanes.get(key) === opening) this.lanes.delete(key);
      });
      lane = opening;
    }
    return lane;
  }

  private async dropLane(topic: string, partition: number): Promise<void> {
    const key = `${topic}/${partition}`;
    const lane = this.lanes.get(key);
    this.lanes.delete(key);
    await (await lane?.catch(() => undefined))?.close();
  }

  private async processBatch(lane: PartitionLane, payload: EachBatchPayload, heartbeats: Heartbeats): Promise<void> {
    const { batch, resolveOffset } = payload;
    const { health, logger } = this.options;
    const limits = { maxBytes: this.options.commitMaxBytes, maxRecords: this.options.commitMaxRecords };
    let pending = new PendingCommit(lane, limits);

    const commit = async () => {
      const committed = await pending.commit();
      pending = new PendingCommit(lane, limits);
      if (committed === undefined) return;
      resolveOffset((committed.nextOffset - 1n).toString());
      this.count(committed);
      health.progressed(batch.topic, batch.partition);
    };

    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      heartbeats.check();
      if (BigInt(message.offset) < lane.nextOffset) {
        // Already counted or dead-lettered in a committed transaction.
        resolveOffset(message.offset);
        continue;
      }
      const record = recordKey(batch.topic, batch.partition, message.offset);
      let envelope: Envelope | MalformedEnvelopeError;
      try {
        envelope = this.options.retryTopics.envelope(batch.topic, batch.partition, message);
      } catch (error) {
        if (!(error instanceof MalformedEnvelopeError)) throw error;
        envelope = error;
      }
      // Records of a retry topic are in due order, and a record waiting in
      // place holds everything behind it: either way nothing more of this
      // partition is due before it. Pause the partition until then; the
      // consumer's other partitions keep flowing meanwhile.
      const dueAt = (envelope instanceof Error ? undefined : envelope.dueAt) ?? this.blockingRetries.dueAt(record);
      if (dueAt !== undefined && dueAt > Date.now()) {
        await commit();
        this.pausePartition(payload, dueAt);
        return;
      }
      const started = performance.now();
      let decision: Decision;
      if (envelope instanceof MalformedEnvelopeError) {
        const origin = ownOrigin(batch.topic, batch.partition, message);
        logger.warn({ ...origin, reason: envelope.message }, 'dead-lettering a record with a malformed retry envelope');
        const failure = { orderId: undefined, reason: envelope.message };
        decision = { ...deadLetter(message, origin, 'invalid', 1, envelope, this.decideOptions), failure };
      } else {
        for (let outages = 1; ; outages += 1) {
          const decided = this.decide(message, envelope, record);
          decision = decided instanceof Promise ? await decided : decided;
          if (decision.kind !== 'infrastructure') break;
          // Not the order's fault: wait (capped), keep the attempt count.
          await commit();
          const delay = this.infraDelay(outages);
          this.options.metrics.infrastructureWaits.inc();
          health.failed(batch.topic, batch.partition, decision.error);
          logger.warn(
            { ...envelope.origin, err: decision.error, delayMs: delay },
            'infrastructure unavailable; waiting without spending the retry budget',
          );
          await this.pause(delay, heartbeats);
        }
      }
      this.options.metrics.latency.observe((performance.now() - started) / 1000);
      if (decision.kind === 'deferred') {
        await commit();
        this.pausePartition(payload, decision.dueAt);
        return;
      }
      this.blockingRetries.settled(record);
      if (!pending.tryAdd(decision, message.offset)) {
        await commit();
        pending.tryAdd(decision, message.offset);
      }
      if (pending.isFull) await commit();
    }
    await commit();
  }

  /** decide(), with its log line and blocking mode's retry state; commits nothing. Synchronous when decide() is. */
  private decide(message: KafkaMessage, envelope: Envelope, record: string): Decision | Promise<Decision> {
    const attempt = this.blockingRetries.attemptOf(record, envelope.attemptsBefore + 1);
    const decided = decide(message, envelope.origin, attempt, this.decideOptions);
    if (decided instanceof Promise) return decided.then((decision) => this.noted(decision, envelope, record, attempt));
    return this.noted(decided, envelope, record, attempt);
  }

  private noted(decision: Decision, { origin }: Envelope, record: string, attempt: number): Decision {
    if (decision.kind === 'processed' || decision.kind === 'infrastructure') return decision;
    const { logger, metrics } = this.options;
    const log = { topic: origin.topic, partition: origin.partition, offset: origin.offset, attempt };
    switch (decision.kind) {
      case 'dead-letter':
        logger.warn({ ...log, ...decision.failure, failureClass: decision.failureClass }, 'dead-lettering order');
        break;
      case 'retry':
        logger.info(
          { ...log, ...decision.failure, delayMs: decision.delayMs, retryTopic: decision.topic },
          'transient failure; sending to retry topic',
        );
        break;
      case 'deferred':
        metrics.retried.inc();
        logger.info({ ...log, ...decision.failure, delayMs: decision.delayMs }, 'transient failure; retrying in place');
        this.blockingRetries.failed(record, attempt, decision.dueAt);
        break;
    }
    return decision;
  }

  /** Counters move only once what they count is durable. */
  private count(committed: Committed): void {
    const { metrics, mode } = this.options;
    metrics.processed.inc(committed.processed);
    // Blocking-mode retries are counted when scheduled: they are not written anywhere.
    if (mode === 'topics' && committed.retried > 0) metrics.retried.inc(committed.retried);
    for (const [failureClass, count] of committed.deadLettered)
      metrics.deadLettered.inc({ failure_class: failureClass }, count);
  }

  /**
   * Pauses the batch's partition until `dueAt`. Unresolved records of the
   * batch are fetched again after the resume, starting with the one due.
   */
  private pausePartition(payload: EachBatchPayload, dueAt: number): void {
    const resume = payload.pause();
    const timer = setTimeout(
      () => {
        this.resumeTimers.delete(timer);
        try {
          resume();
        } catch {
          // The consumer stopped meanwhile; there is nothing to resume.
        }
      },
      Math.max(0, dueAt - Date.now()),
    );
    this.resumeTimers.add(timer);
  }

  /** On shutdown: no partition is resumed any more. */
  cancelResumes(): void {
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
  }

  private infraDelay(failures: number): number {
    const { policy, infraRetryMaxMs } = this.options;
    return backoffDelay({ ...policy, maxMs: infraRetryMaxMs, jitter: Math.max(policy.jitter, 0.2) }, failures);
  }

  /** Waits while the heartbeats keep this member in the group; throws if shut down or the group changes. */
  private async pause(ms: number, heartbeats: Heartbeats): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      heartbeats.check();
      const left = until - Date.now();
      if (left <= 0) return;
      if (!(await wait(Math.min(left, 500), this.options.signal))) throw new Interrupted();
    }
  }
}

function ownOrigin(topic: string, partition: number, message: KafkaMessage): Origin {
  return { topic, partition, offset: message.offset, timestamp: message.timestamp };
}
