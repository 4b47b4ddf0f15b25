// Which kafkajs log lines reach the services' logs at which level: the
// coordinator errors kafkajs retries itself, and its reviewed warning about
// bounded idempotent retries, go to debug; everything else keeps its level.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logLevel } from 'kafkajs';
import { kafkajsLogLevel } from '../../services/lib/kafka.ts';

const response = 'Response GroupCoordinator(key: 10, version: 2)';

describe('kafkajs log levels', () => {
  it('logs the coordinator errors kafkajs retries at debug', () => {
    for (const error of [
      'The group coordinator is not available',
      "The coordinator is loading and hence can't process requests for this group",
      'This is not the correct coordinator for this group',
    ]) {
      assert.equal(kafkajsLogLevel(logLevel.ERROR, response, error), 'debug', error);
    }
  });

  it('keeps every other error at error, and a retried one logged as a warning at warn', () => {
    assert.equal(kafkajsLogLevel(logLevel.ERROR, response, 'Not authorized to access group'), 'error');
    assert.equal(kafkajsLogLevel(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded', undefined), 'error');
    assert.equal(kafkajsLogLevel(logLevel.WARN, 'x', 'The group coordinator is not available'), 'warn');
  });

  it('logs the reviewed warning about bounded idempotent retries at debug, and other warnings at warn', () => {
    const reviewed = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';
    assert.equal(kafkajsLogLevel(logLevel.WARN, reviewed, undefined), 'debug');
    assert.equal(kafkajsLogLevel(logLevel.WARN, 'KafkaJS v2.0.0 switched default partitioner.', undefined), 'warn');
    assert.equal(kafkajsLogLevel(logLevel.INFO, 'Starting', undefined), 'info');
  });
});
