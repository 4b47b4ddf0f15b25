// The DLQ service's configuration checked as a whole, before anything
// connects: settings that each pass their own check but contradict each other
// stop the service at start with a message that names them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../../services/dlq-service/app.ts';
import { ConfigError, loadConfig, serviceSpecs } from '../../services/lib/config.ts';

const base = {
  // Nothing listens here: a check that let the app get as far as connecting would fail differently.
  KAFKA_BROKERS: '127.0.0.1:1',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
  DLQ_DB_PATH: ':memory:',
};

describe('DLQ service configuration as a whole', () => {
  it('refuses a DLQ_PAGE_SIZE larger than DLQ_PAGE_SIZE_MAX, naming both', async () => {
    const config = loadConfig(serviceSpecs['dlq-service'], { ...base, DLQ_PAGE_SIZE: '600', DLQ_PAGE_SIZE_MAX: '500' });
    await assert.rejects(buildApp({ config }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(Object.keys(error.problems), ['DLQ_PAGE_SIZE']);
      assert.match(error.message, /DLQ_PAGE_SIZE: is 600, larger than DLQ_PAGE_SIZE_MAX \(500\)/);
      return true;
    });
  });
});
