// decode -> validate -> downstream -> aggregate, one batch (one partition) at
// a time, with the failure routing the lab is about:
// - permanent failures (undecodable, invalid) go to the DLQ at once;
// - transient failures are retried with exponential backoff, in place
//   (blocking mode: the partition is paused until the retry is due, so its
//   order holds while the consumer's other partitions keep flowing) or
//   through retry topics (topics mode: the partition moves on), then DLQ;
// - infrastructure failures (registry down, a commit that fails) are waited
//   out with a capped backoff without spending the order's retry budget.
// Outcomes become durable only through PartitionLane.commit (one transaction);
// a record is resolved (its offset may move on) only after that.
import type { EachBatchPayload, KafkaMessage, Message } from 'kafkajs';
import { deadLetterHeaders, type FailureClass } from '../lib/dlq.ts';
import type { Logger } from '../lib/logger.ts';
import { validateOrder, type Order } from '../lib/order.ts';
import { backoffDelay, wait, type BackoffPolicy } from '../lib/retry.ts';
import type { Serde } from '../lib/serde.ts';
import { asError, deadLetterClass, failureKind } from './classify.ts';
import { callDownstream, type DownstreamOptions } from './downstream.ts';
import { PartitionLane, type LaneDeps, type OutgoingRecords } from './lane.ts';
import type { ConsumerMetrics } from './metrics.ts';
import type { Origin, RetryTopics } from './retry-topics.ts';

export interface ProcessorOptions {
  lanes: LaneDeps;
  serde: Serde;
  logger: Logger;
  metrics: ConsumerMetrics;
  policy: BackoffPolicy;
  mode: 'blocking' | 'topics';
  retryTopics: RetryTopics;
  dlqTopic: string;
  dlqPartitions: number;
  downstream: DownstreamOptions;
  commitMaxRecords: number;
  /** Most bytes of dead letters and retry records one transaction writes. */
  commitMaxBytes: number;
  infraRetryMaxMs: number;
  /** Aborted on shutdown: every wait is cut short and nothing unfinished is committed. */
  signal: AbortSignal;
}

/** The handler stopped early (shutdown); the unfinished record stays uncommitted. */
class Interrupted extends Error {}

/** A heartbeat failed: the group is rebalancing; kafkajs must see its error. */
class GroupChanged extends Error {
  constructor(readonly kafkaError: unknown) {
    super('consumer group is rebalancing');
  }
}

type Decision =
  | { kind: 'processed'; order: Order }
  | { kind: 'dead-letter'; message: Message; failureClass: FailureClass }
  | { kind: 'retry'; topic: string; message: Message }
  /** Blocking mode: try this record again at `dueAt`; nothing after it before then. */
  | { kind: 'deferred'; dueAt: number };

/** A record waiting in place (blocking mode) for its next attempt. */
interface Waiting {
  attempt: number;
  dueAt: number;
}

export class OrderProcessor {
  private readonly lanes = new Map<string, Promise<PartitionLane>>();
  /**
   * Blocking mode's retry state, by `topic/partition/offset`. It lives in
   * memory: after a restart or a rebalance a record starts its attempts
   * again, so an order may get more retries than MAX_RETRIES, never fewer.
   */
  private readonly waiting = new Map<string, Waiting>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: ProcessorOptions) {}

  /** After a rebalance, state must be restored again from what Kafka holds. */
  async closeLanes(): Promise<void> {
    const lanes = [...this.lanes.values()];
    this.lanes.clear();
    this.waiting.clear();
    await Promise.all(lanes.map(async (lane) => (await lane.catch(() => undefined))?.close()));
  }

  async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    let failures = 0;
    try {
      for (;;) {
        if (!payload.isRunning() || payload.isStale()) return;
        try {
          const lane = await this.lane(batch.topic, batch.partition);
          await this.processBatch(lane, payload);
          this.options.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
          return;
        } catch (error) {
          if (error instanceof Interrupted || error instanceof GroupChanged) throw error;
          // The lane's producer or state may be out of step with Kafka now:
          // reopen it (fence, restore) and redo the batch from what is durable.
          failures += 1;
          await this.dropLane(batch.topic, batch.partition);
          const delay = this.infraDelay(failures);
          this.options.metrics.infrastructureWaits.inc();
          this.options.logger.error(
            { err: error, topic: batch.topic, partition: batch.partition, attempt: failures, delayMs: delay },
            'could not make outcomes durable; retrying the batch',
          );
          await this.pause(delay, payload);
        }
      }
    } catch (error) {
      if (error instanceof Interrupted) return;
      if (error instanceof GroupChanged) throw error.kafkaError;
      throw error;
    }
  }

  private lane(topic: string, partition: number): Promise<PartitionLane> {
    const key = `${topic}/${partition}`;
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = PartitionLane.open(this.options.lanes, topic, partition);
      this.lanes.set(key, lane);
      lane.catch(() => this.lanes.delete(key));
    }
    return lane;
  }

  private async dropLane(topic: string, partition: number): Promise<void> {
    const key = `${topic}/${partition}`;
    const lane = this.lanes.get(key);
    this.lanes.delete(key);
    await (await lane?.catch(() => undefined))?.close();
  }

  private async processBatch(lane: PartitionLane, payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset } = payload;
    const { metrics } = this.options;
    const processed: Order[] = [];
    const outgoing: OutgoingRecords = new Map();
    let pendingCount = 0;
    let pendingBytes = 0;
    let lastOffset: string | undefined;

    const flush = async () => {
      if (lastOffset === undefined) return;
      await lane.commit(processed, outgoing, BigInt(lastOffset) + 1n);
      resolveOffset(lastOffset);
      metrics.processed.inc(processed.length);
      processed.length = 0;
      outgoing.clear();
      pendingCount = 0;
      pendingBytes = 0;
      lastOffset = undefined;
      await this.heartbeat(payload);
    };

    for (const message of batch.messages) {
      if (!payload.isRunning() || payload.isStale()) break;
      if (BigInt(message.offset) < lane.nextOffset) {
        // Already counted or dead-lettered in a committed transaction.
        resolveOffset(message.offset);
        continue;
      }
      // Records of a retry topic are in due order, and a record waiting in
      // place holds everything behind it: either way nothing more of this
      // partition is due before it. Pause the partition until then; the
      // consumer's other partitions keep flowing meanwhile.
      const dueAt = this.options.retryTopics.dueAt(batch.topic, message) ?? this.waiting.get(waitingKey(batch.topic, batch.partition, message))?.dueAt;
      if (dueAt !== undefined && dueAt > Date.now()) {
        await flush();
        this.pausePartition(payload, dueAt);
        return;
      }
      const started = performance.now();
      const decision = await this.decide(batch.topic, batch.partition, message, payload, flush);
      metrics.latency.observe((performance.now() - started) / 1000);
      if (decision.kind === 'deferred') {
        await flush();
        this.pausePartition(payload, decision.dueAt);
        return;
      }
      this.waiting.delete(waitingKey(batch.topic, batch.partition, message));
      if (decision.kind === 'processed') {
        processed.push(decision.order);
      } else {
        // A transaction writes each partition's records as one record batch,
        // which the broker refuses past message.max.bytes (1 MiB by default),
        // and a commit refused for size would be retried for ever. So when
        // this record would take the transaction's outgoing bytes past
        // COMMIT_MAX_BYTES, what came before it is committed first.
        const bytes = recordBytes(decision.message);
        if (pendingBytes > 0 && pendingBytes + bytes > this.options.commitMaxBytes) await flush();
        const topic = decision.kind === 'retry' ? decision.topic : this.options.dlqTopic;
        const records = outgoing.get(topic) ?? [];
        records.push(decision.message);
        outgoing.set(topic, records);
        pendingBytes += bytes;
        if (decision.kind === 'dead-letter') metrics.deadLettered.inc({ failure_class: decision.failureClass });
      }
      lastOffset = message.offset;
      pendingCount += 1;
      if (pendingCount >= this.options.commitMaxRecords) await flush();
    }
    await flush();
  }

  private async decide(
    topic: string,
    partition: number,
    message: KafkaMessage,
    payload: EachBatchPayload,
    flush: () => Promise<void>,
  ): Promise<Decision> {
    const { serde, logger, policy, metrics } = this.options;
    const origin = this.options.retryTopics.origin(topic, partition, message);
    const key = waitingKey(topic, partition, message);
    const attempt = this.waiting.get(key)?.attempt ?? this.options.retryTopics.attemptsBefore(message) + 1;
    let outages = 0;
    for (;;) {
      const log = { topic, partition, offset: message.offset, attempt, origin };
      let orderId: string | undefined;
      try {
        const { value } = await serde.decode(message.value);
        orderId = typeof value.orderId === 'string' ? value.orderId : undefined;
        const order = validateOrder(value);
        await callDownstream(order, attempt, message.headers, this.options.downstream);
        return { kind: 'processed', order };
      } catch (caught) {
        const error = asError(caught);
        const kind = failureKind(error);
        if (kind === 'infrastructure') {
          // Not the order's fault: wait (capped), keep the attempt count.
          outages += 1;
          const delay = this.infraDelay(outages);
          metrics.infrastructureWaits.inc();
          logger.warn({ ...log, orderId, err: error, delayMs: delay }, 'infrastructure unavailable; waiting without spending the retry budget');
          await flush();
          await this.pause(delay, payload);
          continue;
        }
        if (kind === 'permanent' || attempt > policy.maxRetries) {
          const failureClass = kind === 'permanent' ? deadLetterClass(error) : 'retries-exhausted';
          logger.warn({ ...log, orderId, failureClass, reason: error.message }, 'dead-lettering order');
          return { kind: 'dead-letter', failureClass, message: this.deadLetter(message, origin, failureClass, attempt, error) };
        }
        const delay = backoffDelay(policy, attempt);
        metrics.retried.inc();
        if (this.options.mode === 'topics') {
          const retryTopic = this.options.retryTopics.topicFor(attempt);
          logger.info({ ...log, orderId, reason: error.message, delayMs: delay, retryTopic }, 'transient failure; sending to retry topic');
          return { kind: 'retry', topic: retryTopic, message: this.options.retryTopics.message(message, origin, attempt, delay, error) };
        }
        logger.info({ ...log, orderId, reason: error.message, delayMs: delay }, 'transient failure; retrying in place');
        const dueAt = Date.now() + delay;
        this.waiting.set(key, { attempt: attempt + 1, dueAt });
        return { kind: 'deferred', dueAt };
      }
    }
  }

  /**
   * Pauses the batch's partition until `dueAt`. Unresolved records of the
   * batch are fetched again after the resume, starting with the one due.
   */
  private pausePartition(payload: EachBatchPayload, dueAt: number): void {
    const resume = payload.pause();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      try {
        resume();
      } catch {
        // The consumer stopped meanwhile; there is nothing to resume.
      }
    }, Math.max(0, dueAt - Date.now()));
    this.resumeTimers.add(timer);
  }

  /** On shutdown: no partition is resumed any more. */
  cancelResumes(): void {
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
  }

  private deadLetter(message: KafkaMessage, origin: Origin, failureClass: FailureClass, attempts: number, error: Error): Message {
    const partition = origin.partition < this.options.dlqPartitions ? origin.partition : undefined;
    return {
      key: message.key,
      value: message.value,
      partition,
      headers: deadLetterHeaders(message.headers, {
        ...origin,
        consumerGroup: this.options.lanes.group,
        failureClass,
        attempts,
        error,
        failedAt: new Date(),
      }),
    };
  }

  private infraDelay(failures: number): number {
    const { policy, infraRetryMaxMs } = this.options;
    return backoffDelay({ ...policy, maxMs: infraRetryMaxMs, jitter: Math.max(policy.jitter, 0.2) }, failures);
  }

  /** Waits, heartbeating so the group keeps this member; throws if shut down. */
  private async pause(ms: number, payload: EachBatchPayload): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) return;
      if (!(await wait(Math.min(left, 1000), this.options.signal))) throw new Interrupted();
      await this.heartbeat(payload);
      if (payload.isStale()) throw new Interrupted();
    }
  }

  private async heartbeat(payload: EachBatchPayload): Promise<void> {
    try {
      await payload.heartbeat();
    } catch (error) {
      throw new GroupChanged(error);
    }
  }
}

/** A record's bytes on the wire, near enough: key, value, header names and values. */
export function recordBytes(message: Pick<Message, 'key' | 'value' | 'headers'>): number {
  let bytes = byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name);
    for (const item of Array.isArray(value) ? value : [value]) bytes += byteLength(item);
  }
  return bytes;
}

function byteLength(data: Buffer | string | null | undefined): number {
  return data === null || data === undefined ? 0 : Buffer.byteLength(data);
}

function waitingKey(topic: string, partition: number, message: KafkaMessage): string {
  return `${topic}/${partition}/${message.offset}`;
}
