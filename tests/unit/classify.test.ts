import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadLetterClass, failureKind } from '../../services/consumer/classify.ts';
import {
  RegistryUnreachableError,
  TransientError,
  UndecodableError,
  ValidationError,
} from '../../services/lib/errors.ts';
import { validateOrder } from '../../services/lib/order.ts';

describe('classification', () => {
  const table: [string, unknown, ReturnType<typeof failureKind>, ReturnType<typeof deadLetterClass>][] = [
    ['undecodable bytes', new UndecodableError('bad-magic-byte', 'x'), 'permanent', 'undecodable'],
    ['unknown schema id', new UndecodableError('unknown-schema-id', 'x'), 'permanent', 'undecodable'],
    ['invalid order', new ValidationError('price -1 is not positive'), 'permanent', 'invalid'],
    ['downstream timeout', new TransientError('timed out'), 'transient', 'retries-exhausted'],
    ['registry down', new RegistryUnreachableError('http://r', 'refused'), 'infrastructure', 'retries-exhausted'],
    ['unknown error', new TypeError('boom'), 'transient', 'retries-exhausted'],
    ['a thrown string', 'boom', 'transient', 'retries-exhausted'],
  ];
  for (const [name, error, kind, failureClass] of table) {
    it(`${name} is ${kind}`, () => {
      assert.equal(failureKind(error), kind);
      assert.equal(deadLetterClass(error), failureClass);
    });
  }
});

describe('order validation', () => {
  const good = { orderId: 'a', product: 'mouse', price: 12.5 };
  it('accepts a good order', () => assert.deepEqual(validateOrder(good), good));
  for (const [name, order, message] of [
    ['empty orderId', { ...good, orderId: '' }, /orderId is empty/],
    ['empty product', { ...good, product: ' ' }, /product is empty/],
    ['negative price', { ...good, price: -1 }, /not positive/],
    ['zero price', { ...good, price: 0 }, /not positive/],
    ['NaN price', { ...good, price: Number.NaN }, /not a finite number/],
    ['infinite price', { ...good, price: Number.POSITIVE_INFINITY }, /not a finite number/],
    ['huge price', { ...good, price: 2e6 }, /above the maximum/],
  ] as const) {
    it(`refuses ${name}`, () =>
      assert.throws(
        () => validateOrder(order),
        (error) => error instanceof ValidationError && message.test(error.message),
      ));
  }
});
