// Blocking mode's retry state: the attempt a record is at, when its next one
// is due, and that a settled record or a rebalance forgets it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockingRetries, recordKey } from '../../services/consumer/blocking-retries.ts';

const record = recordKey('orders', 1, '41');
const neighbour = recordKey('orders', 1, '42');

describe('BlockingRetries', () => {
  it('knows nothing of a record that has not failed: its attempt is the one given', () => {
    const retries = new BlockingRetries();
    assert.equal(retries.attemptOf(record, 3), 3);
    assert.equal(retries.dueAt(record), undefined);
  });

  it('after a failed attempt: the next attempt, due when scheduled, for that record only', () => {
    const retries = new BlockingRetries();
    retries.failed(record, 2, 1_000);
    assert.equal(retries.attemptOf(record, 1), 3);
    assert.equal(retries.dueAt(record), 1_000);
    assert.equal(retries.attemptOf(neighbour, 1), 1);
    assert.equal(retries.dueAt(recordKey('orders', 2, '41')), undefined);
  });

  it('forgets a record once it is settled, and every record after a rebalance', () => {
    const retries = new BlockingRetries();
    retries.failed(record, 1, 1_000);
    retries.failed(neighbour, 1, 2_000);
    retries.settled(record);
    assert.equal(retries.dueAt(record), undefined);
    assert.equal(retries.dueAt(neighbour), 2_000);
    retries.clear();
    assert.equal(retries.dueAt(neighbour), undefined);
  });
});
