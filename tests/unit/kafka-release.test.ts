// KAFKA_VERSION: which Kafka the local stack, Compose and the benchmarks run,
// what Maven fetches for it, how its JVMs log, and its KRaft cluster ids.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_KAFKA_VERSION,
  kafkaArtifacts,
  kafkaLogging,
  kafkaRelease,
  newClusterId,
} from '../../scripts/harness/kafka-release.ts';
import { composeFiles } from '../../scripts/harness/compose-file.ts';
import { localServices } from '../../scripts/harness/local-services.ts';

describe('KAFKA_VERSION', () => {
  it('is 3.9.1 in ZooKeeper mode when unset or empty, as the lab is specified', () => {
    assert.deepEqual(kafkaRelease(undefined), { version: DEFAULT_KAFKA_VERSION, mode: 'zookeeper' });
    assert.deepEqual(kafkaRelease(' '), { version: '3.9.1', mode: 'zookeeper' });
  });

  it('runs 3.9.x with ZooKeeper and 4.x in KRaft mode', () => {
    assert.deepEqual(kafkaRelease('3.9.0'), { version: '3.9.0', mode: 'zookeeper' });
    assert.deepEqual(kafkaRelease('4.1.1'), { version: '4.1.1', mode: 'kraft' });
    assert.deepEqual(kafkaRelease('4.4.0'), { version: '4.4.0', mode: 'kraft' });
  });

  it('refuses anything else with a message that names the variable', () => {
    for (const value of ['latest', '3.8.1', '5.0.0', '4.1', '4.1.1-rc1']) {
      assert.throws(() => kafkaRelease(value), /^Error: KAFKA_VERSION must be 3\.9\.<patch> .* got "/, value);
    }
  });

  it('fetches the broker and tools of that version, with the log binding its mode needs', () => {
    const zookeeper = kafkaArtifacts(kafkaRelease('3.9.1'));
    assert.ok(zookeeper.includes('org.apache.kafka:kafka_2.13:3.9.1'));
    assert.ok(zookeeper.some((artifact) => artifact.startsWith('org.slf4j:slf4j-reload4j:')));
    const kraft = kafkaArtifacts(kafkaRelease('4.1.1'));
    assert.ok(kraft.includes('org.apache.kafka:kafka-tools:4.1.1'));
    assert.ok(
      kraft.some((artifact) => /^org\.slf4j:slf4j-api:2\./.test(artifact)),
      'slf4j 2 for log4j2',
    );
    assert.ok(kraft.some((artifact) => artifact.startsWith('org.apache.logging.log4j:log4j-core:')));
  });

  it('points a Kafka 3.9 JVM at a log4j 1 file and a Kafka 4 JVM at a log4j2 one', () => {
    const options = { level: 'WARN', target: 'stderr' } as const;
    const old = kafkaLogging(kafkaRelease('3.9.1'), '/tmp/l.properties', options);
    assert.equal(old.jvmArg, '-Dlog4j.configuration=file:/tmp/l.properties');
    assert.match(old.text, /^log4j\.rootLogger=WARN, console$/m);
    assert.match(old.text, /Target=System\.err$/m);
    const kraft = kafkaLogging(kafkaRelease('4.1.1'), '/tmp/l.properties', options);
    assert.equal(kraft.jvmArg, '-Dlog4j2.configurationFile=/tmp/l.properties');
    assert.match(kraft.text, /^rootLogger\.level=WARN$/m);
    assert.match(kraft.text, /target=SYSTEM_ERR$/m);
  });

  it('makes KRaft cluster ids of 16 bytes that never start with "-"', () => {
    const dashFirst = Buffer.from([0xf8, ...Array<number>(15).fill(1)]); // base64url "-A..."
    const draws = [dashFirst, Buffer.alloc(16, 7)];
    const id = newClusterId(() => draws.shift()!);
    assert.equal(id, Buffer.alloc(16, 7).toString('base64url'));
    assert.equal(Buffer.from(id, 'base64url').length, 16);
  });

  it('adds compose.kraft.yaml to compose.yaml for 4.x only', () => {
    assert.deepEqual(composeFiles(kafkaRelease('3.9.1')), ['compose.yaml']);
    assert.deepEqual(composeFiles(kafkaRelease('4.1.1')), ['compose.yaml', 'compose.kraft.yaml']);
  });
});

describe('make up without Docker', () => {
  const endpoints = { brokers: '127.0.0.1:9092', registryUrl: 'http://127.0.0.1:8081' };
  const names = (leftOut: string[]) => localServices(endpoints, leftOut, {}).map(({ service }) => service.name);

  it('starts the producer with the other services, and leaves it out when asked (PRODUCER=0)', () => {
    assert.deepEqual(names([]), ['topic-init', 'consumer', 'dlq-service', 'producer']);
    assert.deepEqual(names(['producer']), ['topic-init', 'consumer', 'dlq-service']);
  });
});
