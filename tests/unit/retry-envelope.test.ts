import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { MalformedEnvelopeError, RetryTopics } from '../../services/consumer/retry-topics.ts';
import { RETRY } from '../../services/lib/retry-headers.ts';

const retryTopics = new RetryTopics('orders', 3);

function record(headers: Record<string, string>): KafkaMessage {
  const entries = Object.entries(headers).map(([name, value]) => [name, Buffer.from(value)]);
  return {
    key: null,
    value: null,
    offset: '17',
    timestamp: '1700000000123',
    attributes: 0,
    headers: Object.fromEntries(entries),
  } as KafkaMessage;
}

const envelope = {
  [RETRY.attempt]: '2',
  [RETRY.dueAt]: '1700000005000',
  [RETRY.originalTopic]: 'orders',
  [RETRY.originalPartition]: '1',
  [RETRY.originalOffset]: '41',
  [RETRY.originalTimestamp]: '1700000000000',
};

describe('the retry envelope', () => {
  it('is ignored on the orders topic: a forged one does not change where the record came from or its attempts', () => {
    const forged = record({
      [RETRY.originalTopic]: 'elsewhere',
      [RETRY.attempt]: 'abc',
      [RETRY.dueAt]: '99999999999999',
    });
    assert.deepEqual(retryTopics.envelope('orders', 2, forged), {
      origin: { topic: 'orders', partition: 2, offset: '17', timestamp: '1700000000123' },
      attemptsBefore: 0,
    });
  });

  it('is read whole on a retry topic', () => {
    assert.deepEqual(retryTopics.envelope('orders-retry-2', 1, record(envelope)), {
      attemptsBefore: 2,
      dueAt: 1700000005000,
      origin: { topic: 'orders', partition: 1, offset: '41', timestamp: '1700000000000' },
    });
  });

  for (const [name, value] of [
    [RETRY.attempt, 'abc'],
    [RETRY.attempt, '0'],
    [RETRY.attempt, '4'],
    [RETRY.originalPartition, ''],
    [RETRY.originalPartition, '-1'],
    [RETRY.originalOffset, 'NaN'],
    [RETRY.dueAt, 'soon'],
  ] as const) {
    it(`is malformed on a retry topic with ${name}=${JSON.stringify(value)}, and the error names the header`, () => {
      assert.throws(
        () => retryTopics.envelope('orders-retry-1', 0, record({ ...envelope, [name]: value })),
        (error: unknown) =>
          error instanceof MalformedEnvelopeError &&
          error.kind === 'permanent' &&
          error.message.includes('retry record'),
      );
    });
  }

  it('is malformed on a retry topic when a header is missing', () => {
    const { [RETRY.originalOffset]: _missing, ...partial } = envelope;
    assert.throws(
      () => retryTopics.envelope('orders-retry-1', 0, record(partial)),
      /no x-retry-original-offset header/,
    );
  });
});
