// One dead letter as the archive keeps it: the fields the API filters on,
// read once from the headers and the decoded value, plus the original key,
// value and headers so it can be shown and replayed without going back to
// Kafka (dlq-archive.ts stores it whole).
import type { IHeaders, KafkaMessage } from 'kafkajs';
import {
  DLQ,
  DLT,
  deadLetterId,
  readDeadLetterHeaders,
  REPLAY,
  type DeadLetterHeaders,
  type TruncatedPart,
} from '../../lib/dlq.ts';
import { reasonOf } from './reason.ts';
import type { DecodeResult } from './value-decoder.ts';

/** An original's size and SHA-256 (hex), kept when the consumer cut it to fit the DLQ topic. */
export type OriginalDigest = Readonly<NonNullable<DeadLetterHeaders['originalValue']>>;

export interface DlqEntry {
  readonly partition: number;
  readonly offset: number;
  /** Epoch ms, the sort key: when the record was dead-lettered (x-dlq-failed-at, else the DLQ record's timestamp). */
  readonly time: number;
  /** x-dlq-failed-at, epoch ms. */
  readonly failedAt: number | null;
  readonly failureClass: string | null;
  readonly exceptionClass: string | null;
  /** The exception message, as the consumer wrote it. */
  readonly message: string | null;
  /** The message with its variable parts replaced (see reason.ts). */
  readonly reason: string;
  /** The stack trace's first line, and the rest (the frames). */
  readonly stackHead: string | null;
  readonly stackFrames: string | null;
  readonly attempts: number | null;
  readonly consumerGroup: string | null;
  readonly originTopic: string | null;
  readonly originPartition: number | null;
  readonly originOffset: string | null;
  readonly originTimestamp: string | null;
  /** x-replay-count on the dead letter: replays the order had been through before this failure. */
  readonly replayCount: number;
  readonly replayFrom: string | null;
  readonly replayAt: string | null;
  /** x-dlq-truncated: what the consumer cut to make the dead letter fit the DLQ topic, in the order it cut. */
  readonly truncated: readonly TruncatedPart[];
  /** With `value` cut: the original value's size and SHA-256 (the value holds only its first bytes). */
  readonly originalValue: OriginalDigest | null;
  /** With `key` cut: the same for the key. */
  readonly originalKey: OriginalDigest | null;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Every header not read into the fields above (the original headers among them), bytes as they were. */
  readonly otherHeaders: Readonly<Record<string, Buffer>> | null;
  readonly schemaId: number | null;
  /** The decoded order, or null when the value does not decode (then `undecodable` says why). */
  readonly order: Readonly<Record<string, unknown>> | null;
  readonly undecodable: { readonly reason: string; readonly message: string } | null;
}

/** Most dead letters were not cut: they all share this one empty list. */
const NOTHING_CUT: readonly TruncatedPart[] = Object.freeze([]);

/** The headers read into DlqEntry fields; the rest are kept in otherHeaders. */
const CONTEXT_HEADERS: ReadonlySet<string> = new Set([
  ...Object.values(DLT),
  ...Object.values(DLQ),
  ...Object.values(REPLAY),
]);

/** Kafka hands out slices of whole fetch responses; copies keep only the record's bytes alive. */
function copy(bytes: Buffer | null | undefined): Buffer | null {
  return bytes === null || bytes === undefined ? null : Buffer.from(bytes);
}

function otherHeadersOf(headers: IHeaders | undefined): Record<string, Buffer> | null {
  let others: Record<string, Buffer> | null = null;
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (CONTEXT_HEADERS.has(name) || value === undefined) continue;
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last === undefined) continue;
    others ??= {};
    others[name] = Buffer.from(last);
  }
  return others;
}

export function toEntry(partition: number, message: KafkaMessage, decoded: DecodeResult): DlqEntry {
  const context = readDeadLetterHeaders(message.headers);
  const stack = context.exceptionStacktrace ?? null;
  const newline = stack === null ? -1 : stack.indexOf('\n');
  const order = decoded.order === null ? null : { ...decoded.order };
  return {
    partition,
    offset: Number(message.offset),
    time: context.failedAt?.getTime() ?? Number(message.timestamp),
    failedAt: context.failedAt?.getTime() ?? null,
    failureClass: context.failureClass ?? null,
    exceptionClass: context.exceptionClass ?? null,
    message: context.exceptionMessage ?? null,
    reason: reasonOf(context.exceptionMessage ?? ''),
    stackHead: stack === null ? null : newline === -1 ? stack : stack.slice(0, newline),
    stackFrames: stack === null || newline === -1 ? null : stack.slice(newline),
    attempts: context.attempts ?? null,
    consumerGroup: context.consumerGroup ?? null,
    originTopic: context.originTopic ?? null,
    originPartition: context.originPartition ?? null,
    originOffset: context.originOffset ?? null,
    originTimestamp: context.originTimestamp ?? null,
    replayCount: context.replayCount,
    replayFrom: context.replayFrom ?? null,
    replayAt: context.replayAt ?? null,
    truncated: context.truncated.length === 0 ? NOTHING_CUT : context.truncated,
    originalValue: context.originalValue ?? null,
    originalKey: context.originalKey ?? null,
    key: copy(message.key),
    value: copy(message.value),
    otherHeaders: otherHeadersOf(message.headers),
    schemaId: decoded.schemaId,
    order,
    undecodable: decoded.undecodable,
  };
}

export const entryId = (entry: DlqEntry): string => deadLetterId(entry.partition, entry.offset);

export function stackOf(entry: DlqEntry): string | null {
  return entry.stackHead === null ? null : entry.stackHead + (entry.stackFrames ?? '');
}

/** Every header of the dead letter, as text (context headers rebuilt from the fields they were read into). */
export function headersOf(entry: DlqEntry): Record<string, string> {
  const context: Record<string, string | number | null> = {
    [DLT.originalTopic]: entry.originTopic,
    [DLT.originalPartition]: entry.originPartition,
    [DLT.originalOffset]: entry.originOffset,
    [DLT.originalTimestamp]: entry.originTimestamp,
    [DLT.originalConsumerGroup]: entry.consumerGroup,
    [DLT.exceptionFqcn]: entry.exceptionClass,
    [DLT.exceptionMessage]: entry.message,
    [DLT.exceptionStacktrace]: stackOf(entry),
    [DLQ.failureClass]: entry.failureClass,
    [DLQ.attempts]: entry.attempts,
    [DLQ.failedAt]: entry.failedAt === null ? null : new Date(entry.failedAt).toISOString(),
    [REPLAY.count]: entry.replayCount > 0 ? entry.replayCount : null,
    [REPLAY.from]: entry.replayFrom,
    [REPLAY.at]: entry.replayAt,
    [DLQ.truncated]: entry.truncated.length === 0 ? null : entry.truncated.join(','),
    [DLQ.originalValueBytes]: entry.originalValue?.bytes ?? null,
    [DLQ.originalValueSha256]: entry.originalValue?.sha256 ?? null,
    [DLQ.originalKeyBytes]: entry.originalKey?.bytes ?? null,
    [DLQ.originalKeySha256]: entry.originalKey?.sha256 ?? null,
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(entry.otherHeaders ?? {})) headers[name] = value.toString();
  for (const [name, value] of Object.entries(context)) if (value !== null) headers[name] = String(value);
  return headers;
}
