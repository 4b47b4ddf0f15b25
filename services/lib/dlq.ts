// The dead-letter record format. Key and value are the original bytes,
// unchanged, so a record can be replayed exactly. Headers: the original
// headers, plus context named as Spring Kafka's DeadLetterPublishingRecoverer
// names it (so tools that know those names can read them), plus two of this
// project's own. Spring writes partition/offset/timestamp as binary numbers;
// here every value is UTF-8 text, so kcat, kafka-ui and a log line show them
// as they are.
import { createHash } from 'node:crypto';
import type { IHeaders, Message } from 'kafkajs';
import { recordBytes } from './record-size.ts';

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
  /** invalid | retries-exhausted | undecodable */
  failureClass: 'x-dlq-failure-class',
  /** How many times processing was attempted (1 + retries). */
  attempts: 'x-dlq-attempts',
  /** When the record was dead-lettered, ISO 8601. */
  failedAt: 'x-dlq-failed-at',
  /**
   * Set when the dead letter had to be cut to fit the DLQ topic's
   * max.message.bytes: a comma-separated list of what was cut, in the order
   * it was cut (`stacktrace`, `message`, `headers`, `value`, `key`). A dead
   * letter whose value, key or original headers were cut cannot be replayed
   * exactly; the DLQ service refuses to replay it.
   */
  truncated: 'x-dlq-truncated',
  /** With `value` cut: the original value's size in bytes and SHA-256 (hex); the value holds its first bytes. */
  originalValueBytes: 'x-dlq-original-value-bytes',
  originalValueSha256: 'x-dlq-original-value-sha256',
  /** With `key` cut: the same for the key. */
  originalKeyBytes: 'x-dlq-original-key-bytes',
  originalKeySha256: 'x-dlq-original-key-sha256',
} as const;

/** What fitting a dead letter may cut, in the order it is cut. */
export const TRUNCATED_PARTS = ['stacktrace', 'message', 'headers', 'value', 'key'] as const;
export type TruncatedPart = (typeof TRUNCATED_PARTS)[number];
/** Cuts after which the record is no longer the original: it cannot be replayed exactly. */
export const LOSSY_CUTS: readonly TruncatedPart[] = ['headers', 'value', 'key'];

/** Set by a replay; kept across failures so the replay count guards loops. */
export const REPLAY = {
  count: 'x-replay-count',
  from: 'x-replay-from',
  at: 'x-replay-at',
} as const;

/**
 * Why a record was dead-lettered: it breaks a rule (an order's, or a retry
 * envelope's format), it does not decode, or its retries ran out. (Not to be
 * confused with a failure's kind, services/lib/errors.ts, which decides what
 * happens to it.)
 */
export type FailureClass = 'invalid' | 'retries-exhausted' | 'undecodable';
export const FAILURE_CLASSES: readonly FailureClass[] = ['invalid', 'retries-exhausted', 'undecodable'];

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
  return Object.fromEntries(
    Object.entries(headers ?? {}).filter(([name, value]) => !isFailureHeader(name) && value !== undefined),
  );
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

/**
 * A dead letter's id: `<DLQ partition>-<DLQ offset>`, e.g. `2-1041`. Unique
 * within one DLQ topic and stable for as long as the record is retained.
 */
export function deadLetterId(partition: number, offset: number | string): string {
  return `${partition}-${offset}`;
}

/** The DLQ position an id names, or undefined when it is not of the form `<partition>-<offset>`. */
export function parseDeadLetterId(id: string): { partition: number; offset: number } | undefined {
  const match = /^(\d{1,9})-(\d{1,16})$/.exec(id);
  if (match === null) return undefined;
  const offset = Number(match[2]);
  return Number.isSafeInteger(offset) ? { partition: Number(match[1]), offset } : undefined;
}

/**
 * The context a dead letter's headers carry, read back; absent or malformed values are undefined (a DLQ may hold
 * records other tools wrote).
 */
export interface DeadLetterHeaders {
  /** Where the record was read (Spring's kafka_dlt-original-* headers; "original" here means before truncation). */
  originTopic?: string;
  originPartition?: number;
  originOffset?: string;
  originTimestamp?: string;
  consumerGroup?: string;
  exceptionClass?: string;
  exceptionMessage?: string;
  exceptionStacktrace?: string;
  failureClass?: string;
  attempts?: number;
  failedAt?: Date;
  /** Replays the order had been through before it failed this time (0 when never replayed). */
  replayCount: number;
  replayFrom?: string;
  replayAt?: string;
  /** What was cut to make the dead letter fit the DLQ topic (empty when nothing was). */
  truncated: TruncatedPart[];
  /** Present when the value was cut: the original's size and SHA-256. */
  originalValue?: { bytes: number; sha256: string };
  /** Present when the key was cut. */
  originalKey?: { bytes: number; sha256: string };
}

export function readDeadLetterHeaders(headers: IHeaders | undefined): DeadLetterHeaders {
  const text = (name: string) => headerText(headers, name);
  const count = (name: string) => {
    const value = text(name);
    return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
  };
  const failedAt = text(DLQ.failedAt);
  const failureClass = text(DLQ.failureClass);
  const failedAtDate = failedAt === undefined ? undefined : new Date(failedAt);
  return {
    originTopic: text(DLT.originalTopic),
    originPartition: count(DLT.originalPartition),
    originOffset: text(DLT.originalOffset),
    originTimestamp: text(DLT.originalTimestamp),
    consumerGroup: text(DLT.originalConsumerGroup),
    exceptionClass: text(DLT.exceptionFqcn),
    exceptionMessage: text(DLT.exceptionMessage),
    exceptionStacktrace: text(DLT.exceptionStacktrace),
    // Dead letters written before the class `invalid` had its name say `permanent`.
    failureClass: failureClass === 'permanent' ? 'invalid' : failureClass,
    attempts: count(DLQ.attempts),
    failedAt: failedAtDate === undefined || Number.isNaN(failedAtDate.getTime()) ? undefined : failedAtDate,
    replayCount: count(REPLAY.count) ?? 0,
    replayFrom: text(REPLAY.from),
    replayAt: text(REPLAY.at),
    truncated: (text(DLQ.truncated) ?? '')
      .split(',')
      .filter((part): part is TruncatedPart => (TRUNCATED_PARTS as readonly string[]).includes(part)),
    originalValue: digestOf(text(DLQ.originalValueBytes), text(DLQ.originalValueSha256)),
    originalKey: digestOf(text(DLQ.originalKeyBytes), text(DLQ.originalKeySha256)),
  };
}

function digestOf(
  bytes: string | undefined,
  sha256: string | undefined,
): { bytes: number; sha256: string } | undefined {
  if (bytes === undefined || sha256 === undefined || !/^\d{1,15}$/.test(bytes) || !/^[0-9a-f]{64}$/.test(sha256))
    return undefined;
  return { bytes: Number(bytes), sha256 };
}

/**
 * The headers a replay publishes: the original ones (failure context
 * stripped) marked with the replay. `count` is the order's replay count after
 * this replay; it survives a later failure, so it can guard replay loops.
 */
export function replayHeaders(
  headers: IHeaders | undefined,
  replay: { count: number; from: string; at: Date },
): IHeaders {
  return {
    ...originalHeaders(headers),
    [REPLAY.count]: String(replay.count),
    [REPLAY.from]: replay.from,
    [REPLAY.at]: replay.at.toISOString(),
  };
}

/** An exception message is cut to this many characters when the dead letter does not fit. */
const SHORT_MESSAGE_CHARS = 1000;
/** A cut value or key keeps at most this many of its first bytes, for inspection. */
const PREFIX_BYTES = 4096;

/**
 * The dead letter made to fit in `maxBytes` (its size in a record batch):
 * unchanged when it fits; else cut step by step until it does: the stack
 * trace, the exception message, the original headers, then the value and
 * last the key, each of those two replaced by its first bytes with the
 * original's size and SHA-256 in headers. `x-dlq-truncated` says what was
 * cut. Origin, reason and replay count are never cut, so a dead letter always
 * says where it came from and why, and the replay loop guard holds.
 */
export function fitDeadLetter(message: Message, maxBytes: number): Message {
  if (recordBytes(message) <= maxBytes) return message;
  const cut: TruncatedPart[] = [];
  let letter: Message = { ...message, headers: { ...message.headers } };
  const fits = () => recordBytes(letter) <= maxBytes;
  const mark = (part: TruncatedPart) => {
    cut.push(part);
    letter.headers![DLQ.truncated] = cut.join(',');
  };
  // Each step says whether it cut anything.
  const steps: [TruncatedPart, () => boolean][] = [
    ['stacktrace', () => setHeader(DLT.exceptionStacktrace, '')],
    [
      'message',
      () =>
        setHeader(
          DLT.exceptionMessage,
          headerText(letter.headers, DLT.exceptionMessage)?.slice(0, SHORT_MESSAGE_CHARS),
        ),
    ],
    ['headers', () => keepContextHeaders()],
    ['value', () => cutToPrefix('value', DLQ.originalValueBytes, DLQ.originalValueSha256)],
    ['key', () => cutToPrefix('key', DLQ.originalKeyBytes, DLQ.originalKeySha256)],
  ];
  for (const [part, cutPart] of steps) {
    if (cutPart()) mark(part);
    if (fits()) return letter;
  }
  // A cut key or value keeps as much of its prefix as the record can hold, the key's going first.
  for (const part of ['key', 'value'] as const) {
    if (cut.includes(part)) shrinkPrefix(part);
    if (fits()) return letter;
  }
  throw new RangeError(`a dead letter cannot be made to fit ${maxBytes} bytes; its context headers alone take more`);

  function setHeader(name: string, value: string | undefined): boolean {
    const before = headerText(letter.headers, name);
    letter.headers![name] = value;
    return (before?.length ?? 0) > (value?.length ?? 0);
  }

  function keepContextHeaders(): boolean {
    const entries = Object.entries(letter.headers!);
    letter.headers = Object.fromEntries(entries.filter(([name, value]) => isContextHeader(name, value)));
    return Object.keys(letter.headers).length < entries.length;
  }

  function cutToPrefix(part: 'value' | 'key', bytesHeader: string, shaHeader: string): boolean {
    const data = letter[part];
    if (data === null || data === undefined || Buffer.byteLength(data) <= PREFIX_BYTES) return false;
    const bytes = Buffer.from(data);
    letter.headers![bytesHeader] = String(bytes.length);
    letter.headers![shaHeader] = createHash('sha256').update(bytes).digest('hex');
    letter = { ...letter, [part]: bytes.subarray(0, PREFIX_BYTES) };
    return true;
  }

  function shrinkPrefix(part: 'value' | 'key'): void {
    const data = letter[part];
    if (data === null || data === undefined) return;
    const over = recordBytes(letter) - maxBytes;
    letter = { ...letter, [part]: Buffer.from(data).subarray(0, Math.max(0, Buffer.byteLength(data) - over)) };
  }
}

/** Headers a dead letter keeps whatever it costs: its context (the consumer's own), and the replay count. */
function isContextHeader(name: string, value: IHeaders[string]): boolean {
  if (isFailureHeader(name)) return true;
  // The replay count guards replay loops; it is kept when it is one (input may carry any header of that name).
  const text = Array.isArray(value) ? value.at(-1)?.toString() : value?.toString();
  return name === REPLAY.count && text !== undefined && /^\d{1,9}$/.test(text);
}

/**
 * What GET /dlq, GET /dlq/stats and POST /dlq/replay select dead letters by:
 * the DLQ service applies it (dlq-service/index/dlq-archive.ts), the lab's API
 * client sends it.
 */
export interface DlqFilter {
  failureClass?: string;
  /** Case-insensitive text within the exception message. */
  reason?: string;
  product?: string;
  orderId?: string;
  /** Case-insensitive text within the order id (or key), product or exception message. */
  q?: string;
  /** ISO 8601; inclusive. */
  from?: string;
  /** ISO 8601; exclusive. */
  to?: string;
  replayed?: boolean;
}
