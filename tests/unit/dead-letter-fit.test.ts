import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Message } from 'kafkajs';
import {
  deadLetterHeaders,
  DLQ,
  DLT,
  fitDeadLetter,
  headerText,
  readDeadLetterHeaders,
  REPLAY,
} from '../../services/lib/dlq.ts';
import { recordBytes } from '../../services/lib/record-size.ts';

const LIMIT = 1_048_588 - 61; // max.message.bytes by default, less a record batch's framing

function letter(value: Buffer, extra: Record<string, string> = {}, key = 'order-1'): Message {
  const error = Object.assign(new Error('value has a bad magic byte'), { name: 'UndecodableError' });
  error.stack = `UndecodableError: value has a bad magic byte\n${'    at frame (file.ts:1:1)\n'.repeat(200)}`;
  return {
    key,
    value,
    partition: 1,
    headers: deadLetterHeaders(
      { traceparent: '00-abc', ...extra },
      {
        topic: 'orders',
        partition: 1,
        offset: '41',
        timestamp: '1700000000000',
        consumerGroup: 'order-processor',
        failureClass: 'undecodable',
        attempts: 1,
        error,
        failedAt: new Date('2026-01-02T03:04:05Z'),
      },
    ),
  };
}

describe('fitting a dead letter into the DLQ topic', () => {
  it('leaves a dead letter that fits as it is', () => {
    const original = letter(Buffer.alloc(1000, 1));
    assert.equal(fitDeadLetter(original, LIMIT), original);
  });

  it('cuts the stack trace first when that is enough, keeping value and headers', () => {
    const value = Buffer.alloc(LIMIT - 2000, 7);
    const fitted = fitDeadLetter(letter(value), LIMIT);
    assert.ok(recordBytes(fitted) <= LIMIT);
    assert.equal(headerText(fitted.headers, DLQ.truncated), 'stacktrace');
    assert.deepEqual(fitted.value, value);
    assert.equal(headerText(fitted.headers, 'traceparent'), '00-abc');
    assert.deepEqual(readDeadLetterHeaders(fitted.headers).truncated, ['stacktrace']);
  });

  it('replaces a value too large for the topic by its prefix, size and SHA-256; origin and reason stay', () => {
    const value = Buffer.alloc(1_048_000, 0x61);
    const original = letter(value, { [REPLAY.count]: '1' });
    assert.ok(recordBytes(original) > LIMIT, 'the test needs a dead letter over the limit');
    const fitted = fitDeadLetter(original, LIMIT);
    assert.ok(recordBytes(fitted) <= LIMIT, `${recordBytes(fitted)} bytes`);
    const read = readDeadLetterHeaders(fitted.headers);
    assert.deepEqual(read.truncated, ['stacktrace', 'headers', 'value']);
    assert.deepEqual(read.originalValue, {
      bytes: value.length,
      sha256: createHash('sha256').update(value).digest('hex'),
    });
    assert.ok(Buffer.isBuffer(fitted.value) && fitted.value.length > 0 && fitted.value.length <= 4096);
    assert.deepEqual(fitted.value, value.subarray(0, fitted.value.length), 'the value keeps its first bytes');
    assert.equal(fitted.key, 'order-1');
    assert.equal(fitted.partition, 1);
    assert.equal(read.originTopic, 'orders');
    assert.equal(read.originPartition, 1);
    assert.equal(read.originOffset, '41');
    assert.equal(read.failureClass, 'undecodable');
    assert.equal(read.exceptionMessage, 'value has a bad magic byte');
    assert.equal(read.replayCount, 1, 'the replay count that guards loops is kept');
    assert.equal(headerText(fitted.headers, DLT.exceptionStacktrace), '');
  });

  it('cuts the key last, when even a bare value does not make room', () => {
    const key = 'k'.repeat(30_000);
    const fitted = fitDeadLetter(letter(Buffer.alloc(20_000), {}, key), 16_384);
    assert.ok(recordBytes(fitted) <= 16_384);
    const read = readDeadLetterHeaders(fitted.headers);
    assert.deepEqual(read.truncated.slice(-2), ['value', 'key']);
    assert.equal(read.originalKey?.bytes, 30_000);
  });
  it('drops a huge header of the input, even one named like a replay mark; keeps only a numeric replay count', () => {
    const forged = { [REPLAY.from]: 'x'.repeat(1_100_000), [REPLAY.count]: 'not-a-count' };
    const fitted = fitDeadLetter(letter(Buffer.from('small'), forged), LIMIT);
    assert.ok(recordBytes(fitted) <= LIMIT);
    assert.equal(headerText(fitted.headers, REPLAY.from), undefined);
    assert.equal(headerText(fitted.headers, REPLAY.count), undefined);
    assert.deepEqual(fitted.value, Buffer.from('small'), 'the value was not touched');
    assert.deepEqual(readDeadLetterHeaders(fitted.headers).truncated, ['stacktrace', 'headers']);
  });

  it('cuts only the key when only the key is too large: a value of a few bytes is kept whole', () => {
    const fitted = fitDeadLetter(letter(Buffer.from('tiny value'), {}, 'k'.repeat(1_100_000)), LIMIT);
    assert.ok(recordBytes(fitted) <= LIMIT);
    const read = readDeadLetterHeaders(fitted.headers);
    assert.ok(!read.truncated.includes('value'), `cut: ${read.truncated.join(',')}`);
    assert.equal(read.originalValue, undefined);
    assert.deepEqual(fitted.value, Buffer.from('tiny value'));
    assert.equal(read.originalKey?.bytes, 1_100_000);
  });
});
