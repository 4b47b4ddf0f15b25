// How many bytes a record takes in a Kafka record batch (format v2), at most,
// so that what a transaction writes can be kept under a topic's
// max.message.bytes, which the broker checks per record batch.
import type { Message } from 'kafkajs';

/** A record batch's own header: base offset, length, epoch, magic, CRC, attributes, ids, count. */
export const RECORD_BATCH_OVERHEAD = 61;
/**
 * Per record: its length, attributes, timestamp and offset deltas, key and value lengths, header count (varints at
 * their widest).
 */
const RECORD_OVERHEAD = 36;
/** Per header: the name's and the value's lengths. */
const HEADER_OVERHEAD = 10;

/** A record's bytes in a batch: key, value, header names and values, and their framing. */
export function recordBytes(message: Pick<Message, 'key' | 'value' | 'headers'>): number {
  let bytes = RECORD_OVERHEAD + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item !== undefined) bytes += HEADER_OVERHEAD + Buffer.byteLength(name) + byteLength(item);
    }
  }
  return bytes;
}

export function byteLength(data: Buffer | string | null | undefined): number {
  return data === null || data === undefined ? 0 : Buffer.byteLength(data);
}
