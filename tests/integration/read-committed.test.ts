// A read_committed reader never sees a record of an aborted transaction, even
// when two aborted transactions interleave and the one that started first is
// aborted last. That is the shape a crash leaves behind: a killed consumer's
// lanes each hold an open transaction on order-stats (and on the DLQ and retry
// topics), and the lanes that take over abort them in whatever order they
// open. kafkajs 2.2.4 let the earlier transaction's first records through
// (its aborted-transaction list is in abort order, and it assumed start
// order), so a restore or the aggregate could count orders that were never
// committed; services/lib/patches/kafkajs+2.2.4.patch fixes its filter.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { createKafka } from '../../services/lib/kafka.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { Lab } from '../../scripts/harness/lab.ts';

describe('read_committed readers and interleaved aborted transactions', () => {
  const lab = new Lab();
  const producers: Producer[] = [];
  before(() => lab.start());
  after(async () => {
    await Promise.all(producers.map((producer) => producer.disconnect()));
    await lab.stop();
  });

  it('skip every record of both transactions and keep the committed one', { timeout: 60_000 }, async () => {
    const topic = `${lab.prefix}.interleaved`;
    await lab.admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const kafka = createKafka({
      brokers: lab.infra.brokers,
      clientId: `${lab.prefix}-tx`,
      logger: createLogger('test', 'warn'),
    });
    const producer = async (name: string) => {
      const created = kafka.producer({ transactionalId: `${topic}.${name}`, idempotent: true, maxInFlightRequests: 1 });
      producers.push(created);
      await created.connect();
      return created;
    };
    /**
     * A new producer with the same transactional id connects once the old
     * one's transaction is complete: its abort marker is then in the log.
     */
    const markerWritten = (name: string) => producer(name);

    const first = await (await producer('first')).transaction();
    await first.send({ topic, messages: [{ key: 'first', value: 'aborted, started first' }] }); // offset 0
    const second = await (await producer('second')).transaction();
    await second.send({ topic, messages: [{ key: 'second', value: 'aborted, started second' }] }); // offset 1
    await first.send({ topic, messages: [{ key: 'first', value: 'aborted, started first' }] }); // offset 2
    await second.abort();
    await markerWritten('second'); // offset 3
    await first.abort();
    await markerWritten('first'); // offset 4
    await lab.send(topic, [{ key: 'plain', value: 'committed' }]); // offset 5

    const records = await lab.readAll(topic);
    assert.deepEqual(
      records.map(({ message }) => `${message.offset}:${message.key}`),
      ['5:plain'],
      'only the record outside the aborted transactions is read',
    );
  });
});
