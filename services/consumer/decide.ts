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
   * Answers at once when it can (the schema is known), else with a promise.
   */
  decode(value: Buffer | null): { value: Record<string, unknown> } | Promise<{ value: Record<string, unknown> }>;
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

/** One record's attempt: what decide() and its steps read. */
interface Attempt {
  message: KafkaMessage;
  origin: Origin;
  attempt: number;
  options: DecideOptions;
}

/**
 * Decides the fate of `message`, read from `origin`, on its `attempt`-th
 * attempt (1 for the first). Synchronous when nothing has to be waited for
 * (a known schema, no downstream latency): the common case does not pay for
 * promises per record; otherwise a promise of the same decision.
 */
export function decide(
  message: KafkaMessage,
  origin: Origin,
  attempt: number,
  options: DecideOptions,
): Decision | Promise<Decision> {
  const context: Attempt = { message, origin, attempt, options };
  try {
    const decoded = options.decode(message.value);
    if (!(decoded instanceof Promise)) return handle(decoded.value, context);
    return decoded.then(
      ({ value }) => handle(value, context),
      (caught: unknown) => failed(caught, undefined, context),
    );
  } catch (caught) {
    return failed(caught, undefined, context);
  }
}

/** Validation and the downstream call of a decoded record. */
function handle(value: Record<string, unknown>, context: Attempt): Decision | Promise<Decision> {
  const orderId = typeof value.orderId === 'string' ? value.orderId : undefined;
  try {
    const order = validateOrder(value);
    const called = callDownstream(order, context.attempt, context.message.headers, context.options.downstream);
    if (called === undefined) return { kind: 'processed', order };
    return called.then(
      (): Decision => ({ kind: 'processed', order }),
      (caught: unknown) => failed(caught, orderId, context),
    );
  } catch (caught) {
    return failed(caught, orderId, context);
  }
}

/** What a failure leads to: a wait for the platform, a dead letter, a retry in place or through a retry topic. */
function failed(caught: unknown, orderId: string | undefined, context: Attempt): Decision {
  const { message, origin, attempt, options } = context;
  const { policy, mode, retryTopics, destinations } = options;
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
