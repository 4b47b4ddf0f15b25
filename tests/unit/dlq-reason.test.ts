import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reasonOf } from '../../services/dlq-service/index/reason.ts';

describe('DLQ reasons', () => {
  it('gives messages of one cause one reason', () => {
    assert.equal(reasonOf('price -12.5 is not positive'), 'price <n> is not positive');
    assert.equal(reasonOf('price 0 is not positive'), 'price <n> is not positive');
    assert.equal(reasonOf('price NaN is not a finite number'), reasonOf('price Infinity is not a finite number'));
    assert.equal(
      reasonOf(
        'downstream timed out for order 5f0c1e2a-1111-4aaa-8bbb-123456789abc (injected fault, attempt 4 of 5 failing)',
      ),
      'downstream timed out for order <id> (injected fault, attempt <n> of <n> failing)',
    );
    assert.equal(
      reasonOf('schema id 2147483632 is not known to the registry'),
      'schema id <n> is not known to the registry',
    );
    assert.equal(reasonOf('expected "a", got "b"'), 'expected "…", got "…"');
  });

  it('keeps messages without variable parts, and caps long ones', () => {
    assert.equal(reasonOf('orderId is empty'), 'orderId is empty');
    assert.equal(reasonOf(''), '');
    assert.equal(reasonOf('x'.repeat(1000)).length, 200);
  });
});
