import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, requiredVariables, serviceSpecs } from '../../services/lib/config.ts';

const spec = serviceSpecs['topic-init'];
const valid = { KAFKA_BROKERS: '127.0.0.1:9092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7' };

function problemsOf(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig(spec, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected the configuration to be refused');
}

describe('config', () => {
  it('reads a valid environment and applies defaults', () => {
    const config = loadConfig(spec, { ...valid, MAX_RETRIES: '5', RETRY_FACTOR: '1.5' });
    assert.deepEqual(config.KAFKA_BROKERS, ['127.0.0.1:9092']);
    assert.equal(config.MAX_RETRIES, 5);
    assert.equal(config.RETRY_FACTOR, 1.5);
    assert.equal(config.RETRY_BASE_MS, 1000);
    assert.equal(config.ORDERS_TOPIC, 'orders');
  });

  it('names every missing required variable', () => {
    const problems = problemsOf({});
    assert.deepEqual(Object.keys(problems).sort(), ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL']);
    assert.match(problems.KAFKA_BROKERS!, /required/);
  });

  it('names a malformed variable and says what is expected', () => {
    const problems = problemsOf({ ...valid, MAX_RETRIES: 'three', KAFKA_BROKERS: 'localhost' });
    assert.match(problems.MAX_RETRIES!, /whole number from 0 to 20, got "three"/);
    assert.match(problems.KAFKA_BROKERS!, /host:port/);
  });

  it('refuses out-of-range and unknown choices', () => {
    const problems = problemsOf({ ...valid, RETRY_JITTER: '1.5', RETRY_MODE: 'sometimes', ORDERS_TOPIC: 'bad topic' });
    assert.match(problems.RETRY_JITTER!, /from 0 to 1/);
    assert.ok(problems.RETRY_MODE);
    assert.match(problems.ORDERS_TOPIC!, /topic name/);
  });

  it('the error message lists each variable', () => {
    assert.throws(
      () => loadConfig(spec, { SCHEMA_REGISTRY_URL: 'not a url' }),
      /KAFKA_BROKERS: is required[\s\S]*SCHEMA_REGISTRY_URL/,
    );
  });

  it('lists the variables without defaults', () => {
    assert.deepEqual(requiredVariables(spec).sort(), ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL']);
  });
});
