// The reading of compose.yaml the local lab relies on to run what Compose
// would: variable substitution, published ports, start order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  interpolate,
  publishedPort,
  readComposeFile,
  startOrder,
  type ComposeService,
} from '../../scripts/harness/compose-file.ts';

function service(name: string, extra: Partial<ComposeService> = {}): ComposeService {
  return { name, environment: {}, profiles: [], dependsOn: {}, ports: [], ...extra };
}

describe('compose-file', () => {
  it('substitutes variables as Compose does', () => {
    const env = { SET: 'x', EMPTY: '' };
    assert.equal(interpolate('${SET:-d}/${UNSET:-d}/${EMPTY:-d}', env), 'x/d/d');
    assert.equal(
      interpolate('${EMPTY-d}/${UNSET-d}', env),
      '/d',
      'without the colon only an unset variable takes the default',
    );
    assert.equal(interpolate('${UNSET}', env), '');
  });

  it('finds the host port published for a container port', () => {
    const kafka = service('kafka', { ports: ['${KAFKA_HOST_PORT:-9092}:9092', '127.0.0.1:29093:29092/tcp'] });
    assert.equal(publishedPort(kafka, 9092, {}), 9092);
    assert.equal(publishedPort(kafka, 9092, { KAFKA_HOST_PORT: '19092' }), 19092);
    assert.equal(publishedPort(kafka, 29092, {}), 29093);
    assert.equal(publishedPort(kafka, 1234, {}), undefined);
  });

  it('orders services after what they depend on, and refuses a cycle', () => {
    const services = [
      service('c', { dependsOn: { b: 'service_healthy' } }),
      service('b', { dependsOn: { a: 'service_started' } }),
      service('a'),
    ];
    assert.deepEqual(
      startOrder(services).map(({ name }) => name),
      ['a', 'b', 'c'],
    );
    assert.throws(
      () =>
        startOrder([
          service('a', { dependsOn: { b: 'service_started' } }),
          service('b', { dependsOn: { a: 'service_started' } }),
        ]),
      /cycle/,
    );
  });

  it('reads compose.yaml with its merge keys resolved', () => {
    const consumer = readComposeFile().find(({ name }) => name === 'consumer');
    assert.equal(consumer?.environment.KAFKA_BROKERS, 'kafka:29092', 'from the x-connection anchor');
    assert.equal(consumer?.dependsOn['topic-init'], 'service_completed_successfully');
  });
});
