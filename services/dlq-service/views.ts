// What the API shows of a dead letter: the list item and the full record.
import { toCents } from '../lib/order.ts';
import { entryId, headersOf, stackOf, type DlqEntry } from './index/entry.ts';
import type { ReplayState } from './replay/replay-store.ts';

const text = (value: unknown) => (typeof value === 'string' ? value : null);

/** JSON has no NaN or Infinity, and an order is often dead-lettered for holding one: show them as text. */
function jsonSafe(order: Readonly<Record<string, unknown>> | null): Record<string, unknown> | null {
  if (order === null) return null;
  return Object.fromEntries(
    Object.entries(order).map(([name, value]) => [
      name,
      typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
    ]),
  );
}

/** `inKafka`: the DLQ topic still holds the record (else Kafka's retention removed it, and only the archive has it). */
export function summaryView(entry: DlqEntry, state: ReplayState | undefined, inKafka: boolean) {
  const price = entry.order?.price;
  return {
    id: entryId(entry),
    partition: entry.partition,
    offset: String(entry.offset),
    inKafka,
    failedAt: new Date(entry.time).toISOString(),
    failureClass: entry.failureClass,
    exceptionClass: entry.exceptionClass,
    message: entry.message,
    reason: entry.reason,
    attempts: entry.attempts,
    key: entry.key?.toString() ?? null,
    orderId: text(entry.order?.orderId),
    product: text(entry.order?.product),
    // Avro floats carry binary noise (49.959999084472656): whole cents, as the aggregate counts them.
    price: typeof price === 'number' && Number.isFinite(price) ? toCents(price) / 100 : null,
    origin:
      entry.originTopic === null
        ? null
        : {
            topic: entry.originTopic,
            partition: entry.originPartition,
            offset: entry.originOffset,
            timestamp: entry.originTimestamp,
          },
    replayCount: entry.replayCount,
    replays: state?.count ?? 0,
    lastReplayAt: state?.history.at(-1)?.at ?? null,
    undecodable: entry.undecodable,
    truncated: entry.truncated,
    originalValue: entry.originalValue,
    originalKey: entry.originalKey,
  };
}

export function detailView(entry: DlqEntry, state: ReplayState | undefined, inKafka: boolean) {
  return {
    ...summaryView(entry, state, inKafka),
    order: jsonSafe(entry.order),
    schemaId: entry.schemaId,
    value: entry.value?.toString('base64') ?? null,
    keyBase64: entry.key?.toString('base64') ?? null,
    headers: headersOf(entry),
    consumerGroup: entry.consumerGroup,
    stacktrace: stackOf(entry),
    replayState: state ?? { count: 0, history: [] },
  };
}
