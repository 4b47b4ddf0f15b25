// decide(): the fate of one record from its bytes, its attempt and the policy,
// in both retry modes, without a broker (the decoder is given; everything else
// is the consumer's own code).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { decide, type DecideOptions } from '../../services/consumer/decide.ts';
import { RetryTopics, type Origin } from '../../services/consumer/retry-topics.ts';
import { readDeadLetterHeaders } from '../../services/lib/dlq.ts';
import { RegistryUnreachableError, UndecodableError } from '../../services/lib/errors.ts';
import { FAULT_TRANSIENT_HEADER } from '../../services/lib/fault-injection.ts';
import { RETRY } from '../../services/lib/retry-headers.ts';

const MAX_RETRIES = 3;
const origin: Origin = { topic: 'orders', partition: 2, offset: '41', timestamp: '1767236645000' };
const valid = { orderId: 'o-1', product: 'mouse', price: 19.99 };

function message(headers: KafkaMessage['headers'] = {}): KafkaMessage {
  return {
    key: Buffer.from('o-1'),
    value: Buffer.from('wire bytes'),
    offset: origin.offset,
    timestamp: origin.timestamp,
    attributes: 0,
    headers,
  } as KafkaMessage;
}

/** decide()'s options in `mode`, decoding every value to `decoded` (or throwing it). */
function options(
  mode: 'blocking' | 'topics',
  decoded: Record<string, unknown> | Error,
  retryTopicMaxBytes = 1_048_588,
): DecideOptions {
  return {
    decode: async () => {
      if (decoded instanceof Error) throw decoded;
      return { value: decoded };
    },
    downstream: { faultInjection: true, latencyMs: 0 },
    policy: { baseMs: 1000, factor: 2, maxMs: 60_000, jitter: 0, maxRetries: MAX_RETRIES },
    mode,
    retryTopics: new RetryTopics('orders', MAX_RETRIES),
    destinations: {
      partitionFor: (_topic, partition) => partition,
      maxRecordBytes: (topic) => (topic.startsWith('orders-retry-') ? retryTopicMaxBytes : 1_048_588),
    },
    dlqTopic: 'orders-dlq',
    consumerGroup: 'order-processor',
  };
}

const failing = message({ [FAULT_TRANSIENT_HEADER]: '5' });

describe('decide', () => {
  it('counts a valid order', async () => {
    assert.deepEqual(await decide(message(), origin, 1, options('blocking', valid)), {
      kind: 'processed',
      order: valid,
    });
  });

  for (const [what, decoded, failureClass] of [
    ['bytes that do not decode', new UndecodableError('bad-magic-byte', 'magic byte is 7, expected 0'), 'undecodable'],
    ['an order that breaks a rule', { ...valid, price: -1 }, 'invalid'],
  ] as const) {
    it(`dead-letters ${what} at once, in the original partition, with the reason`, async () => {
      const decision = await decide(message(), origin, 1, options('topics', decoded));
      assert.equal(decision.kind, 'dead-letter');
      if (decision.kind !== 'dead-letter') return;
      assert.equal(decision.topic, 'orders-dlq');
      assert.equal(decision.failureClass, failureClass);
      assert.equal(decision.message.partition, origin.partition);
      const headers = readDeadLetterHeaders(decision.message.headers);
      assert.equal(headers.failureClass, failureClass);
      assert.equal(headers.attempts, 1);
      assert.equal(headers.originOffset, origin.offset);
      assert.equal(headers.exceptionMessage, decision.failure.reason);
    });
  }

  it('blocking mode: defers a transient failure by the policy delay', async () => {
    const before = Date.now();
    const decision = await decide(failing, origin, 2, options('blocking', valid));
    assert.equal(decision.kind, 'deferred');
    if (decision.kind !== 'deferred') return;
    assert.equal(decision.delayMs, 2000, 'base 1000 ms, factor 2, second attempt');
    assert.ok(decision.dueAt >= before + 2000 && decision.dueAt <= Date.now() + 2000);
    assert.equal(decision.failure.orderId, 'o-1');
    assert.match(decision.failure.reason, /injected fault, attempt 2 of 5/);
  });

  it('topics mode: sends a transient failure to the retry topic of its attempt, with its envelope', async () => {
    const decision = await decide(failing, origin, 2, options('topics', valid));
    assert.equal(decision.kind, 'retry');
    if (decision.kind !== 'retry') return;
    assert.equal(decision.topic, 'orders-retry-2');
    const headers = decision.message.headers as Record<string, string>;
    assert.equal(headers[RETRY.attempt], '2');
    assert.equal(headers[RETRY.originalOffset], origin.offset);
    assert.equal(decision.message.partition, origin.partition);
  });

  it('treats an error it does not know as transient', async () => {
    const decision = await decide(message(), origin, 1, options('topics', new Error('socket hang up')));
    assert.equal(decision.kind, 'retry');
  });

  it(`still retries the attempt that spends the last of MAX_RETRIES=${MAX_RETRIES}`, async () => {
    const decision = await decide(failing, origin, MAX_RETRIES, options('topics', valid));
    assert.equal(decision.kind, 'retry');
    if (decision.kind === 'retry') assert.equal(decision.topic, `orders-retry-${MAX_RETRIES}`);
  });

  for (const mode of ['blocking', 'topics'] as const) {
    it(`${mode} mode: dead-letters as retries-exhausted once the retries are spent`, async () => {
      const decision = await decide(failing, origin, MAX_RETRIES + 1, options(mode, valid));
      assert.equal(decision.kind, 'dead-letter');
      if (decision.kind !== 'dead-letter') return;
      assert.equal(decision.failureClass, 'retries-exhausted');
      assert.equal(readDeadLetterHeaders(decision.message.headers).attempts, MAX_RETRIES + 1);
    });
  }

  it('topics mode: dead-letters a record too large for its retry topic, saying so', async () => {
    const decision = await decide(failing, origin, 1, options('topics', valid, 200));
    assert.equal(decision.kind, 'dead-letter');
    if (decision.kind !== 'dead-letter') return;
    assert.equal(decision.failureClass, 'retries-exhausted');
    assert.match(decision.failure.reason, /cannot retry through orders-retry-1: .* over the 200 the topic accepts/);
  });

  it('holds a record while the registry is unreachable, spending no attempt', async () => {
    const down = new RegistryUnreachableError('http://registry', 'registry unreachable');
    const decision = await decide(message(), origin, 1, options('blocking', down));
    assert.deepEqual(decision, { kind: 'infrastructure', error: down });
  });
});

describe('decide without promises', () => {
  const sync = (decoded: Record<string, unknown> | Error): DecideOptions => ({
    ...options('topics', valid),
    decode: () => {
      if (decoded instanceof Error) throw decoded;
      return { value: decoded };
    },
  });

  it('answers at once when decoding does and the downstream call has no latency', () => {
    assert.deepEqual(decide(message(), origin, 1, sync(valid)), { kind: 'processed', order: valid });
    const failed = decide(failing, origin, 1, sync(valid));
    assert.ok(!(failed instanceof Promise));
    assert.equal(failed.kind, 'retry');
  });

  it('answers with a promise when decoding must wait, or the downstream call has latency', async () => {
    const waiting = decide(message(), origin, 1, options('topics', valid));
    assert.ok(waiting instanceof Promise);
    assert.deepEqual(await waiting, { kind: 'processed', order: valid });
    const slow = { ...sync(valid), downstream: { faultInjection: true, latencyMs: 1 } };
    const later = decide(failing, origin, 1, slow);
    assert.ok(later instanceof Promise);
    assert.equal((await later).kind, 'retry');
  });
});
