// topic-init's partition counts without Kafka: what it creates next to an
// existing orders topic, what it grows, what it leaves, and what it refuses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ITopicConfig } from 'kafkajs';
import { pino } from 'pino';
import { ensureTopics, type TopicAdmin, type TopicPlan } from '../../services/topic-init/topics.ts';

const spec = (topic: string) => ({ topic, replicationFactor: 1, configs: {} });

const plan: TopicPlan = {
  input: { ...spec('orders'), partitions: 3 },
  perInputPartition: [spec('orders-dlq'), spec('orders-retry-1'), spec('orders-retry-2')],
  single: [spec('order-stats'), spec('replays')],
};

/** A broker's topics and partition counts; createPartitions is refused for the topics in `refuse`. */
function fakeAdmin(partitions: Record<string, number>, refuse: string[] = []) {
  const topics = new Map(Object.entries(partitions));
  const calls = { created: [] as ITopicConfig[], grown: [] as { topic: string; count: number }[] };
  const admin: TopicAdmin = {
    listTopics: async () => [...topics.keys()],
    fetchTopicMetadata: async (options) => ({
      topics: (options?.topics ?? []).map((name) => ({
        name,
        partitions: Array.from({ length: topics.get(name) ?? 0 }, (_, partitionId) => ({
          partitionErrorCode: 0,
          partitionId,
          leader: 0,
          replicas: [0],
          isr: [0],
          offlineReplicas: [],
        })),
      })),
    }),
    createTopics: async ({ topics: created }) => {
      for (const config of created) topics.set(config.topic, config.numPartitions ?? 1);
      calls.created.push(...created);
      return true;
    },
    createPartitions: async ({ topicPartitions }) => {
      for (const { topic, count } of topicPartitions) {
        if (refuse.includes(topic)) throw new Error('Policy violation');
        topics.set(topic, count);
        calls.grown.push({ topic, count });
      }
      return true;
    },
  };
  return { admin, topics, calls };
}

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('topic-init partition counts', () => {
  it('creates everything with ORDERS_PARTITIONS when orders is missing, single topics with 1', async () => {
    const { admin, calls } = fakeAdmin({});
    const result = await ensureTopics(admin, plan, capturedLogger().logger);
    assert.deepEqual(Object.fromEntries(calls.created.map((config) => [config.topic, config.numPartitions])), {
      orders: 3,
      'orders-dlq': 3,
      'orders-retry-1': 3,
      'orders-retry-2': 3,
      'order-stats': 1,
      replays: 1,
    });
    assert.deepEqual(result.grown, []);
    assert.equal(result.ordersPartitions, 3);
  });

  it('creates missing retry topics with the count orders has, grows fewer, leaves more alone', async () => {
    const { admin, topics, calls } = fakeAdmin({ orders: 4, 'orders-dlq': 8, 'orders-retry-1': 2 });
    const { logger, lines } = capturedLogger();
    const result = await ensureTopics(admin, plan, logger);

    assert.equal(calls.created.find((config) => config.topic === 'orders-retry-2')?.numPartitions, 4);
    assert.deepEqual(calls.grown, [{ topic: 'orders-retry-1', count: 4 }]);
    assert.equal(topics.get('orders-dlq'), 8);
    assert.deepEqual(result.grown, [{ topic: 'orders-retry-1', from: 2, to: 4 }]);
    assert.deepEqual(
      lines.map(({ level, topic, from, to }) => ({ level, topic, from, to })),
      [{ level: 40, topic: 'orders-retry-1', from: 2, to: 4 }],
    );
  });

  it('a second run changes nothing', async () => {
    const { admin, calls } = fakeAdmin({ orders: 5, 'orders-dlq': 1 });
    await ensureTopics(admin, plan, capturedLogger().logger);
    calls.created.length = 0;
    calls.grown.length = 0;
    const again = await ensureTopics(admin, plan, capturedLogger().logger);
    assert.deepEqual(calls, { created: [], grown: [] });
    assert.deepEqual(again.created, []);
    assert.deepEqual(again.grown, []);
  });

  it('a refused growth throws naming every such topic and both counts, after trying them all', async () => {
    const { admin, calls } = fakeAdmin({ orders: 6, 'orders-dlq': 2, 'orders-retry-1': 2, 'orders-retry-2': 1 }, [
      'orders-dlq',
      'orders-retry-2',
    ]);
    await assert.rejects(ensureTopics(admin, plan, capturedLogger().logger), (error: Error) => {
      assert.match(error.message, /orders-dlq has 2 partitions, fewer than the 6 of orders.*Policy violation/);
      assert.match(error.message, /orders-retry-2 has 1 partitions, fewer than the 6 of orders/);
      assert.doesNotMatch(error.message, /orders-retry-1/);
      return true;
    });
    assert.deepEqual(calls.grown, [{ topic: 'orders-retry-1', count: 6 }]);
  });

  it('a stats or replays topic with more than one partition throws naming it and its count', async () => {
    const { admin } = fakeAdmin({ orders: 3, 'order-stats': 1, replays: 2 });
    await assert.rejects(
      ensureTopics(admin, plan, capturedLogger().logger),
      /replays has 2 partitions; it must have exactly 1/,
    );
  });
});
