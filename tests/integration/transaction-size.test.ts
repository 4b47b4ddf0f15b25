// A burst of dead letters larger than the broker takes in one record batch
// (message.max.bytes, 1 MiB by default). A transaction writes a partition's
// dead letters as one batch, so the consumer must end its transactions by
// bytes as well as by records: otherwise the commit is refused for size and
// retried for ever, and the partition never moves on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GroundTruth } from '../../services/producer/producer.ts';
import { Lab, waitUntil, type DeadLetter, type ServiceProcess } from './lab.ts';

const BROKER_BATCH_LIMIT = 1_048_588; // message.max.bytes, the broker's default
const INVALID = 3000;

function bytesOf(letter: DeadLetter): number {
  const headers = Object.entries(letter.headers).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0);
  return Buffer.byteLength(letter.key) + (letter.value?.length ?? 0) + headers;
}

describe('transaction size: a burst of dead letters beyond one record batch', () => {
  // One transaction could take every record of a fetch: only the byte bound splits them.
  const lab = new Lab({ COMMIT_MAX_RECORDS: '100000' });
  let truth: GroundTruth;
  let consumer: ServiceProcess;
  let letters: DeadLetter[];

  before(async () => {
    await lab.start();
    // Produced before the consumer starts, so each partition's burst comes in one fetch.
    truth = await lab.produce({ count: 10, invalid: INVALID });
    consumer = lab.startConsumer();
    await waitUntil('the consumer to drain the orders topic', () => lab.drained(), 120_000).catch((error) => {
      throw new Error(`${(error as Error).message}\nconsumer output:\n${consumer.output.slice(-4000)}`);
    });
    letters = await lab.deadLetters();
  });
  after(() => lab.stop());

  it('writes more dead-letter bytes per partition than one record batch may hold', () => {
    const perPartition = new Map<number, number>();
    for (const letter of letters) perPartition.set(letter.partition, (perPartition.get(letter.partition) ?? 0) + bytesOf(letter));
    const largest = Math.max(...perPartition.values());
    assert.ok(largest > BROKER_BATCH_LIMIT, `largest DLQ partition holds ${largest} bytes; the test needs more than ${BROKER_BATCH_LIMIT}`);
  });

  it('dead-letters every invalid order exactly once and counts the valid ones', async () => {
    assert.deepEqual(letters.map((letter) => letter.key).sort(), [...truth.keys.invalid].sort());
    await waitUntil('the aggregate', () => lab.stats().count === truth.keys.valid.length, 20_000);
    assert.equal(lab.stats().count, truth.keys.valid.length);
  });
});
