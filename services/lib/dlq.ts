// The dead-letter record format. Key and value are the original bytes,
// unchanged, so a record can be replayed exactly. Headers: the original
// headers, plus context named as Spring Kafka's DeadLetterPublishingRecoverer
// names it (so tools that know those names can read them), plus two of this
// project's own. Spring writes partition/offset/timestamp as binary numbers;
// here every value is UTF-8 text, so kcat, kafka-ui and a log line show them
// as they are.
import type { IHeaders } from 'kafkajs';

export const DLT = {
  originalTopic: 'kafka_dlt-original-topic',
  originalPartition: 'kafka_dlt-original-partition',
  originalOffset: 'kafka_dlt-original-offset',
  originalTimestamp: 'kafka_dlt-original-timestamp',
  originalConsumerGroup: 'kafka_dlt-original-consumer-group',
  exceptionFqcn: 'kafka_dlt-exception-fqcn',
  exceptionMessage: 'kafka_dlt-exception-message',
  exceptionStacktrace: 'kafka_dlt-exception-stacktrace',
} as const;

/** This project's own DLQ headers. */
export const DLQ = {
  /** permanent | retries-exhausted | undecodable */
  failureClass: 'x-dlq-failure-class',
  /** How many times processing was attempted (1 + retries). */
  attempts: 'x-dlq-attempts',
  /** When the record was dead-lettered, ISO 8601. */
  failedAt: 'x-dlq-failed-at',
} as const;

/** Set by a replay; kept across failures so the replay count guards loops. */
export const REPLAY = {
  count: 'x-replay-count',
  from: 'x-replay-from',
  at: 'x-replay-at',
} as const;

export type FailureClass = 'permanent' | 'retries-exhausted' | 'undecodable';
export const FAILURE_CLASSES: readonly FailureClass[] = ['permanent', 'retries-exhausted', 'undecodable'];

export interface DeadLetterContext {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  consumerGroup: string;
  failureClass: FailureClass;
  attempts: number;
  error: Error;
  failedAt: Date;
}

/** Stack traces are capped so a header never makes the record too large. */
const MAX_STACK_CHARS = 4000;

/** Headers of an earlier failure, stripped before new ones are added. */
export function isFailureHeader(name: string): boolean {
  return name.startsWith('kafka_dlt-') || name.startsWith('x-dlq-') || name.startsWith('x-retry-');
}

/** The original headers without any left by an earlier failure or retry. */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name, value]) => !isFailureHeader(name) && value !== undefined));
}

export function deadLetterHeaders(headers: IHeaders | undefined, context: DeadLetterContext): IHeaders {
  return {
    ...originalHeaders(headers),
    [DLT.originalTopic]: context.topic,
    [DLT.originalPartition]: String(context.partition),
    [DLT.originalOffset]: context.offset,
    [DLT.originalTimestamp]: context.timestamp,
    [DLT.originalConsumerGroup]: context.consumerGroup,
    [DLT.exceptionFqcn]: context.error.name,
    [DLT.exceptionMessage]: context.error.message,
    [DLT.exceptionStacktrace]: (context.error.stack ?? '').slice(0, MAX_STACK_CHARS),
    [DLQ.failureClass]: context.failureClass,
    [DLQ.attempts]: String(context.attempts),
    [DLQ.failedAt]: context.failedAt.toISOString(),
  };
}

/** A header as text (kafkajs hands them over as Buffers, or arrays when repeated). */
export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const last = Array.isArray(value) ? value.at(-1) : value;
  return last === undefined ? undefined : last.toString();
}
