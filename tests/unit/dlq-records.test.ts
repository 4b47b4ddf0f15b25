// Dead letters read back: ids, headers, the index entry and its replay state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { headersOf, stackOf, toEntry } from '../../services/dlq-service/index/entry.ts';
import { HISTORY_LIMIT, nextState } from '../../services/dlq-service/replay/replay-store.ts';
import {
  deadLetterHeaders,
  deadLetterId,
  DLQ,
  headerText,
  parseDeadLetterId,
  readDeadLetterHeaders,
  REPLAY,
  replayHeaders,
} from '../../services/lib/dlq.ts';
import { ValidationError } from '../../services/lib/errors.ts';

const error = new ValidationError('price -1 is not positive');
const headers = deadLetterHeaders(
  { traceparent: Buffer.from('00-abc'), [REPLAY.count]: '2' },
  {
    topic: 'orders',
    partition: 2,
    offset: '41',
    timestamp: '1700000000000',
    consumerGroup: 'order-processor',
    failureClass: 'invalid',
    attempts: 1,
    error,
    failedAt: new Date('2026-01-02T03:04:05Z'),
  },
);
// Kafka hands headers back as Buffers.
const asRead = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Buffer.from(String(value))]));
const message = (overrides: Partial<KafkaMessage> = {}): KafkaMessage =>
  ({
    key: Buffer.from('o-1'),
    value: Buffer.from([0, 0, 0, 0, 1, 2]),
    offset: '7',
    timestamp: '1700000000999',
    headers: asRead,
    attributes: 0,
    ...overrides,
  }) as KafkaMessage;
const decoded = { schemaId: 1, order: { orderId: 'o-1', product: 'mouse', price: -1 }, undecodable: null };

describe('DLQ record ids', () => {
  it('are <partition>-<offset> and parse back', () => {
    assert.equal(deadLetterId(2, '1041'), '2-1041');
    assert.deepEqual(parseDeadLetterId('2-1041'), { partition: 2, offset: 1041 });
    for (const bad of ['', '2', '2-', '-1', 'a-1', '1-2-3', '1-99999999999999999', '1-1.5', ' 1-1'])
      assert.equal(parseDeadLetterId(bad), undefined, bad);
  });
});

describe('DLQ headers read back', () => {
  it('returns what deadLetterHeaders wrote', () => {
    const read = readDeadLetterHeaders(asRead);
    assert.equal(read.originTopic, 'orders');
    assert.equal(read.originPartition, 2);
    assert.equal(read.originOffset, '41');
    assert.equal(read.consumerGroup, 'order-processor');
    assert.equal(read.exceptionClass, 'ValidationError');
    assert.equal(read.exceptionMessage, 'price -1 is not positive');
    assert.equal(read.failureClass, 'invalid');
    assert.equal(read.attempts, 1);
    assert.equal(read.failedAt?.toISOString(), '2026-01-02T03:04:05.000Z');
    assert.equal(read.replayCount, 2);
  });

  it('reads the class `permanent` of dead letters written before its rename as `invalid`', () => {
    const older = { ...asRead, [DLQ.failureClass]: Buffer.from('permanent') };
    assert.equal(readDeadLetterHeaders(older).failureClass, 'invalid');
  });

  it('leaves absent or malformed values undefined', () => {
    const read = readDeadLetterHeaders({
      'x-dlq-attempts': 'many',
      'x-dlq-failed-at': 'yesterday',
      [REPLAY.count]: '-1',
    });
    assert.equal(read.attempts, undefined);
    assert.equal(read.failedAt, undefined);
    assert.equal(read.replayCount, 0);
    assert.equal(read.originTopic, undefined);
  });

  it('replay headers keep the original ones, drop the failure context and mark the replay', () => {
    const replay = replayHeaders(asRead, { count: 3, from: '2-7', at: new Date('2026-02-03T04:05:06Z') });
    assert.equal(headerText(replay, 'traceparent'), '00-abc');
    assert.equal(replay[REPLAY.count], '3');
    assert.equal(replay[REPLAY.from], '2-7');
    assert.equal(replay[REPLAY.at], '2026-02-03T04:05:06.000Z');
    assert.deepEqual(Object.keys(replay).sort(), ['traceparent', REPLAY.at, REPLAY.count, REPLAY.from].sort());
  });
});

describe('DLQ index entries', () => {
  it('hold the fields the API filters on, and every header as it was', () => {
    const entry = toEntry(2, message(), decoded);
    assert.equal(entry.offset, 7);
    assert.equal(entry.time, Date.parse('2026-01-02T03:04:05Z'));
    assert.equal(entry.failureClass, 'invalid');
    assert.equal(entry.reason, 'price <n> is not positive');
    assert.equal(entry.replayCount, 2);
    assert.equal(entry.order?.product, 'mouse');
    assert.deepEqual(
      headersOf(entry),
      Object.fromEntries(Object.entries(asRead).map(([name, value]) => [name, value.toString()])),
    );
    assert.equal(stackOf(entry), String(headers['kafka_dlt-exception-stacktrace']));
  });

  it('keep their own copies of the bytes', () => {
    const value = Buffer.from([0, 0, 0, 0, 1, 2, 3, 4]);
    const a = toEntry(0, message({ value: value.subarray(0, 6) }), decoded);
    value[5] = 9;
    assert.equal(a.value?.[5], 2, 'a copy, not a view of the fetch buffer');
  });

  it('say what was cut to fit the DLQ topic, and the original sizes and hashes, outside the other headers', () => {
    const cut = {
      [DLQ.truncated]: 'stacktrace,value,key',
      [DLQ.originalValueBytes]: '1048000',
      [DLQ.originalValueSha256]: 'a'.repeat(64),
      [DLQ.originalKeyBytes]: '70000',
      [DLQ.originalKeySha256]: 'b'.repeat(64),
    };
    const cutAsRead = Object.fromEntries(Object.entries(cut).map(([name, text]) => [name, Buffer.from(text)]));
    const withCut = { ...asRead, ...cutAsRead };
    const entry = toEntry(2, message({ headers: withCut }), decoded);
    assert.deepEqual(entry.truncated, ['stacktrace', 'value', 'key']);
    assert.deepEqual(entry.originalValue, { bytes: 1048000, sha256: 'a'.repeat(64) });
    assert.deepEqual(entry.originalKey, { bytes: 70000, sha256: 'b'.repeat(64) });
    assert.deepEqual(Object.keys(entry.otherHeaders ?? {}), ['traceparent']);
    const asText = Object.fromEntries(Object.entries(withCut).map(([name, value]) => [name, value.toString()]));
    assert.deepEqual(headersOf(entry), asText);
    const whole = toEntry(2, message(), decoded);
    assert.deepEqual([whole.truncated, whole.originalValue, whole.originalKey], [[], null, null]);
  });

  it('fall back to the record timestamp without dead-letter headers', () => {
    const entry = toEntry(0, message({ headers: {} }), {
      schemaId: null,
      order: null,
      undecodable: { reason: 'too-short', message: 'short' },
    });
    assert.equal(entry.time, 1700000000999);
    assert.equal(entry.failedAt, null);
    assert.equal(entry.failureClass, null);
    assert.deepEqual(headersOf(entry), {});
  });
});

describe('replay state', () => {
  it('counts every replay and keeps the latest history', () => {
    let state = undefined as ReturnType<typeof nextState> | undefined;
    for (let i = 1; i <= HISTORY_LIMIT + 5; i += 1)
      state = nextState(state, { at: `t${i}`, replayCount: i, topic: 'orders', partition: 0, offset: String(i) });
    assert.equal(state!.count, HISTORY_LIMIT + 5);
    assert.equal(state!.history.length, HISTORY_LIMIT);
    assert.equal(state!.history.at(-1)!.at, `t${HISTORY_LIMIT + 5}`);
  });
});
