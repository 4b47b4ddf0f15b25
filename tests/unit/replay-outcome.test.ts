// What a replay answers when Kafka fails it: a transaction that fails before
// its commit wrote nothing ("failed", safe to retry); one whose commit got no
// answer may have happened ("unknown", to be checked in the replay state). The
// Kafka client here is a stand-in whose transaction fails where told; the
// replay against the real broker is in tests/integration/dlq-service-*.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import type { DlqEntry } from '../../services/dlq-service/index/entry.ts';
import type { ReplayStore } from '../../services/dlq-service/replay/replay-store.ts';
import { Replayer } from '../../services/dlq-service/replay/replayer.ts';
import { createLogger } from '../../services/lib/logger.ts';

type FailAt = 'send' | 'commit' | 'fenced' | 'nowhere';

function replayer(failAt: FailAt, outcomes: Record<string, number>): Replayer {
  const fail = (step: FailAt) => {
    if (step === failAt) throw new Error(`broker gone during ${step}`);
  };
  const transaction = {
    sendBatch: async () => {
      fail('send');
      return [{ topicName: 'orders', partition: 0, baseOffset: '7' }];
    },
    send: async () => [],
    commit: async () => {
      fail('commit');
      // As kafkajs reports INVALID_PRODUCER_EPOCH, the broker's answer to a fenced producer's commit.
      if (failAt === 'fenced') throw Object.assign(new Error('fenced'), { type: 'INVALID_PRODUCER_EPOCH', code: 47 });
    },
    abort: async () => {},
  };
  const kafka = {
    producer: () => ({ connect: async () => {}, disconnect: async () => {}, transaction: async () => transaction }),
  } as unknown as Kafka;
  const admin = {
    listTopics: async () => ['orders'],
    fetchTopicMetadata: async () => ({
      topics: [{ name: 'orders', partitions: [{ partitionId: 0, leader: 0, replicas: [0], isr: [0] }] }],
    }),
  } as unknown as Admin;
  const store = {
    topic: 'replays',
    get: () => undefined,
    apply: () => {},
    follower: { waitUntilCaughtUp: async () => {} },
  } as unknown as ReplayStore;
  return new Replayer({
    kafka,
    admin,
    store,
    transactionalId: 'test',
    maxReplays: 3,
    logger: createLogger('test', 'silent'),
    onOutcome: (outcome, count) => (outcomes[outcome] = (outcomes[outcome] ?? 0) + count),
  });
}

const entry = {
  partition: 0,
  offset: 4,
  originTopic: 'orders',
  originPartition: 0,
  truncated: [],
  replayCount: 0,
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  otherHeaders: null,
} as unknown as DlqEntry;

describe('replay outcomes', () => {
  it('replays when the transaction commits', async () => {
    const outcomes = {};
    const result = await replayer('nowhere', outcomes).replay([entry], false);
    assert.deepEqual(
      result.replayed.map((r) => r.target),
      [{ topic: 'orders', partition: 0, offset: '7' }],
    );
    assert.deepEqual([result.failed, result.unknown], [[], []]);
    assert.deepEqual(outcomes, { replayed: 1, failed: 0, unknown: 0 });
  });

  it('says "failed" (nothing written, safe to retry) when the transaction fails before its commit', async () => {
    const outcomes = {};
    const result = await replayer('send', outcomes).replay([entry], false);
    assert.deepEqual([result.replayed, result.failed, result.unknown], [[], ['0-4'], []]);
    assert.deepEqual(outcomes, { replayed: 0, failed: 1, unknown: 0 });
  });

  it('says "failed" when the commit is refused because another instance fenced this one', async () => {
    const outcomes = {};
    const result = await replayer('fenced', outcomes).replay([entry], false);
    assert.deepEqual([result.replayed, result.failed, result.unknown], [[], ['0-4'], []]);
  });

  it('says "unknown" (to be checked, not retried blindly) when the commit gets no answer', async () => {
    const outcomes = {};
    const result = await replayer('commit', outcomes).replay([entry], false);
    assert.deepEqual([result.replayed, result.failed, result.unknown], [[], [], ['0-4']]);
    assert.deepEqual(outcomes, { replayed: 0, failed: 0, unknown: 1 });
  });
});
