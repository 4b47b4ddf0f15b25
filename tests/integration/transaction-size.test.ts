// A burst of dead letters larger than the broker takes in one record batch
// (message.max.bytes, 1 MiB by default). A transaction writes a partition's
// dead letters as one batch, so the consumer must end its transactions by
// bytes as well as by records: otherwise the commit is refused for size and
// retried for ever, and the partition never moves on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { recordBytes } from '../../services/lib/record-size.ts';
import type { GroundTruth } from '../../services/producer/producer.ts';
import { Lab, waitUntil, type ServiceProcess } from '../../scripts/harness/lab.ts';

const BROKER_BATCH_LIMIT = 1_048_588; // message.max.bytes, the broker's default
const INVALID = 3000;

describe('transaction size: a burst of dead letters beyond one record batch', () => {
  // One transaction could take every record of a fetch: only the byte bound splits them.
  const lab = new Lab({ COMMIT_MAX_RECORDS: '100000' });
  let truth: GroundTruth;
  let consumer: ServiceProcess;
  let letters: Awaited<ReturnType<Lab['readAll']>>;

  before(async () => {
    await lab.start();
    // Produced before the consumer starts, so each partition's burst comes in one fetch.
    truth = await lab.produce({ count: 10, invalid: INVALID });
    consumer = lab.startConsumer();
    await waitUntil('the consumer to drain the orders topic', () => lab.drained(), 120_000).catch(
      consumer.rethrowWithOutput,
    );
    letters = await lab.readAll(lab.topics.dlq);
  });
  after(() => lab.stop());

  it('writes more dead-letter bytes per partition than one record batch may hold', () => {
    const perPartition = new Map<number, number>();
    for (const { partition, message } of letters)
      perPartition.set(partition, (perPartition.get(partition) ?? 0) + recordBytes(message));
    const largest = Math.max(...perPartition.values());
    assert.ok(
      largest > BROKER_BATCH_LIMIT,
      `largest DLQ partition holds ${largest} bytes; the test needs more than ${BROKER_BATCH_LIMIT}`,
    );
  });

  it('dead-letters every invalid order exactly once and counts the valid ones', async () => {
    assert.deepEqual(
      letters.map(({ message }) => message.key?.toString() ?? '').sort(),
      [...truth.keys.invalid].sort(),
    );
    await waitUntil('the aggregate', () => lab.stats().count === truth.keys.valid.length, 20_000);
    assert.equal(lab.stats().count, truth.keys.valid.length);
  });
});
