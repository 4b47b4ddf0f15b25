// The fate of one record, decided without committing or recording anything:
// counted, dead-lettered, sent to a retry topic (topics mode), tried again in
// place later (blocking mode), or held because the platform is down. A
// function of the record, its attempt and the policy; the processor logs the
// decision, keeps blocking mode's retry state and makes outcomes durable.
import type { KafkaMessage, Message } from 'kafkajs';
import { deadLetterHeaders, fitDeadLetter, type FailureClass } from '../lib/dlq.ts';
import { validateOrder } from '../lib/order.ts';
import { recordBytes } from '../lib/record-size.ts';
import { backoffDelay, type BackoffPolicy } from '../lib/retry.ts';
import { asError, deadLetterClass, failureKind } from './classify.ts';
import type { Destinations } from './destinations.ts';
import { callDownstream, type DownstreamOptions } from './downstream.ts';
import type { Outcome } from './pending-commit.ts';
import type { Origin, RetryTopics } from './retry-topics.ts';

export interface DecideOptions {
  /**
   * Bytes to an order-shaped record (the registry's wire format); throws an OrderFailure or an infrastructure error.
   */
  decode(value: Buffer | null): Promise<{ value: Record<string, unknown> }>;
  downstream: DownstreamOptions;
  policy: BackoffPolicy;
  mode: 'blocking' | 'topics';
  retryTopics: Pick<RetryTopics, 'topicFor' | 'message'>;
  destinations: Pick<Destinations, 'partitionFor' | 'maxRecordBytes'>;
  dlqTopic: string;
  consumerGroup: string;
}

/** What failed, for the decision's log line. */
export interface Failure {
  orderId: string | undefined;
  reason: string;
}

export type Decision =
  | Extract<Outcome, { kind: 'processed' }>
  | (Extract<Outcome, { kind: 'dead-letter' }> & { failure: Failure })
  | (Extract<Outcome, { kind: 'retry' }> & { failure: Failure; delayMs: number })
  /** Blocking mode: try this record again (attempt `attempt + 1`) at `dueAt`; nothing after it before then. */
  | { kind: 'deferred'; dueAt: number; delayMs: number; failure: Failure }
  /** The registry (or another part of the platform) is down: not the order's fault. */
  | { kind: 'infrastructure'; error: Error };

/** Decides the fate of `message`, read from `origin`, on its `attempt`-th attempt (1 for the first). */
export async function decide(
  message: KafkaMessage,
  origin: Origin,
  attempt: number,
  options: DecideOptions,
): Promise<Decision> {
  const { policy, mode, retryTopics, destinations } = options;
  let orderId: string | undefined;
  try {
    const { value } = await options.decode(message.value);
    orderId = typeof value.orderId === 'string' ? value.orderId : undefined;
    const order = validateOrder(value);
    await callDownstream(order, attempt, message.headers, options.downstream);
    return { kind: 'processed', order };
  } catch (caught) {
    const error = asError(caught);
    const kind = failureKind(error);
    if (kind === 'infrastructure') return { kind: 'infrastructure', error };
    const failure = { orderId, reason: error.message };
    if (kind === 'permanent' || attempt > policy.maxRetries) {
      const failureClass = deadLetterClass(error);
      return { ...deadLetter(message, origin, failureClass, attempt, error, options), failure };
    }
    const delayMs = backoffDelay(policy, attempt);
    if (mode === 'blocking') return { kind: 'deferred', dueAt: Date.now() + delayMs, delayMs, failure };
    const topic = retryTopics.topicFor(attempt);
    const partition = destinations.partitionFor(topic, origin.partition);
    const retry = retryTopics.message(message, origin, attempt, delayMs, error, partition);
    const size = recordBytes(retry);
    const maxBytes = destinations.maxRecordBytes(topic);
    if (size > maxBytes) {
      const tooLarge = new Error(
        `cannot retry through ${topic}: the record with its retry headers is ${size} bytes, ` +
          `over the ${maxBytes} the topic accepts (${error.message})`,
      );
      const outcome = deadLetter(message, origin, 'retries-exhausted', attempt, tooLarge, options);
      return { ...outcome, failure: { orderId, reason: tooLarge.message } };
    }
    return { kind: 'retry', topic, message: retry, failure, delayMs };
  }
}

/** The dead letter for `message`, cut to fit the DLQ topic, in its original partition where the DLQ has it. */
export function deadLetter(
  message: KafkaMessage,
  origin: Origin,
  failureClass: FailureClass,
  attempts: number,
  error: Error,
  options: Pick<DecideOptions, 'dlqTopic' | 'destinations' | 'consumerGroup'>,
): Extract<Outcome, { kind: 'dead-letter' }> {
  const { dlqTopic: topic, destinations, consumerGroup } = options;
  const letter: Message = {
    key: message.key,
    value: message.value,
    partition: destinations.partitionFor(topic, origin.partition),
    headers: deadLetterHeaders(message.headers, {
      ...origin,
      consumerGroup,
      failureClass,
      attempts,
      error,
      failedAt: new Date(),
    }),
  };
  return {
    kind: 'dead-letter',
    topic,
    failureClass,
    message: fitDeadLetter(letter, destinations.maxRecordBytes(topic)),
  };
}
