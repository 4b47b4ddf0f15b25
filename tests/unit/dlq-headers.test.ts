import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadLetterHeaders, DLQ, DLT, headerText, REPLAY, type DeadLetterContext } from '../../services/lib/dlq.ts';

const context = (overrides: Partial<DeadLetterContext> = {}): DeadLetterContext => ({
  topic: 'orders',
  partition: 2,
  offset: '41',
  timestamp: '1700000000000',
  consumerGroup: 'order-processor',
  failureClass: 'invalid',
  attempts: 1,
  error: Object.assign(new Error('price -1 is not positive'), { name: 'ValidationError' }),
  failedAt: new Date('2026-01-02T03:04:05Z'),
  ...overrides,
});

describe('DLQ headers', () => {
  it('keeps the original headers and adds the Spring-named context and our own', () => {
    const headers = deadLetterHeaders({ traceparent: Buffer.from('00-abc'), 'x-fault-transient': '5' }, context());
    assert.equal(headerText(headers, 'traceparent'), '00-abc');
    assert.equal(headerText(headers, 'x-fault-transient'), '5');
    assert.equal(headers[DLT.originalTopic], 'orders');
    assert.equal(headers[DLT.originalPartition], '2');
    assert.equal(headers[DLT.originalOffset], '41');
    assert.equal(headers[DLT.originalTimestamp], '1700000000000');
    assert.equal(headers[DLT.originalConsumerGroup], 'order-processor');
    assert.equal(headers[DLT.exceptionFqcn], 'ValidationError');
    assert.equal(headers[DLT.exceptionMessage], 'price -1 is not positive');
    assert.match(String(headers[DLT.exceptionStacktrace]), /price -1 is not positive/);
    assert.equal(headers[DLQ.failureClass], 'invalid');
    assert.equal(headers[DLQ.attempts], '1');
    assert.equal(headers[DLQ.failedAt], '2026-01-02T03:04:05.000Z');
  });

  it('replaces the headers of an earlier failure instead of piling them up', () => {
    const first = deadLetterHeaders(
      { 'x-retry-attempt': '2' },
      context({ attempts: 4, failureClass: 'retries-exhausted' }),
    );
    const replayed = { ...first, [REPLAY.count]: '1', [REPLAY.from]: 'orders-dlq/2/7' };
    const second = deadLetterHeaders(
      replayed,
      context({ offset: '99', attempts: 1, error: new Error('second failure') }),
    );
    assert.equal(second[DLT.originalOffset], '99');
    assert.equal(second[DLT.exceptionMessage], 'second failure');
    assert.equal(second[DLQ.attempts], '1');
    assert.equal(second['x-retry-attempt'], undefined);
    assert.equal(second[REPLAY.count], '1', 'the replay count survives, it guards replay loops');
    assert.equal(Object.keys(first).length, 11);
    assert.equal(Object.keys(second).length, 11 + 2, 'the 11 failure headers once, plus the 2 replay headers');
  });

  it('caps the stack trace', () => {
    const error = new Error('deep');
    error.stack = 'x'.repeat(100_000);
    assert.equal(String(deadLetterHeaders({}, context({ error }))[DLT.exceptionStacktrace]).length, 4000);
  });

  it('reads repeated and Buffer headers as text', () => {
    assert.equal(headerText({ a: [Buffer.from('1'), Buffer.from('2')] }, 'a'), '2');
    assert.equal(headerText({}, 'a'), undefined);
  });
});
