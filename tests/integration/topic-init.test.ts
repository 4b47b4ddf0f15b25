import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import kafkajs, { type Admin } from 'kafkajs';
import { createKafka } from '../../services/lib/kafka.ts';
import { createLogger } from '../../services/lib/logger.ts';
import { infrastructure, type Infrastructure } from '../../scripts/harness/infrastructure.ts';
import { uniqueName } from '../../scripts/harness/lab-topics.ts';

// kafkajs is CommonJS; Node's ESM loader sees only its first few exports by name.
const { ConfigResourceTypes } = kafkajs;

interface Run {
  code: number | null;
  output: string;
}

/** Runs the real entrypoint as a child process, as Compose would. */
function runTopicInit(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/topic-init/main.ts'], {
      env: { PATH: process.env.PATH, ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The final log line: what was created, found and grown. */
function summaryOf(run: Run) {
  return JSON.parse(run.output.trim().split('\n').at(-1)!);
}

describe('topic-init', () => {
  let infra: Infrastructure;
  let admin: Admin;
  let env: Record<string, string>;
  const prefix = uniqueName('it-init');

  before(async () => {
    infra = await infrastructure();
    admin = createKafka({
      brokers: infra.brokers,
      clientId: 'it-topic-init',
      logger: createLogger('test', 'warn'),
    }).admin();
    await admin.connect();
    env = {
      KAFKA_BROKERS: infra.brokers.join(','),
      SCHEMA_REGISTRY_URL: infra.registryUrl,
      ORDERS_TOPIC: `${prefix}-orders`,
      DLQ_TOPIC: `${prefix}-orders-dlq`,
      STATS_TOPIC: `${prefix}-order-stats`,
      REPLAYS_TOPIC: `${prefix}-replays`,
      MAX_RETRIES: '2',
    };
  });

  after(() => admin?.disconnect());

  const topicsOf = () => [
    `${prefix}-orders`,
    `${prefix}-orders-dlq`,
    `${prefix}-orders-retry-1`,
    `${prefix}-orders-retry-2`,
    `${prefix}-order-stats`,
    `${prefix}-replays`,
  ];

  it('creates the topics with their partitions and configs and registers the schema', async () => {
    const run = await runTopicInit(env);
    assert.equal(run.code, 0, run.output);

    const { topics } = await admin.fetchTopicMetadata({ topics: topicsOf() });
    const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
    assert.deepEqual(partitions, {
      [`${prefix}-orders`]: 3,
      [`${prefix}-orders-dlq`]: 3,
      [`${prefix}-orders-retry-1`]: 3,
      [`${prefix}-orders-retry-2`]: 3,
      [`${prefix}-order-stats`]: 1,
      [`${prefix}-replays`]: 1,
    });

    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [`${prefix}-orders-dlq`, `${prefix}-order-stats`].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['cleanup.policy', 'retention.ms'],
      })),
    });
    const config = (topic: string, name: string) =>
      described.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === name)
        ?.configValue;
    assert.equal(config(`${prefix}-orders-dlq`, 'retention.ms'), String(30 * 24 * 3600 * 1000));
    assert.equal(config(`${prefix}-order-stats`, 'cleanup.policy'), 'compact');

    const subject = `${prefix}-orders-value`;
    const versions = await (await fetch(`${infra.registryUrl}/subjects/${subject}/versions`)).json();
    assert.deepEqual(versions, [1]);
    const compatibility = await (await fetch(`${infra.registryUrl}/config/${subject}`)).json();
    assert.equal((compatibility as { compatibilityLevel: string }).compatibilityLevel, 'BACKWARD');
  });

  it('a second run changes nothing and exits 0', async () => {
    const run = await runTopicInit(env);
    assert.equal(run.code, 0, run.output);
    const summary = summaryOf(run);
    assert.deepEqual(summary.created, []);
    assert.deepEqual([...summary.existing].sort(), topicsOf().sort());
    const versions = await (await fetch(`${infra.registryUrl}/subjects/${prefix}-orders-value/versions`)).json();
    assert.deepEqual(versions, [1]);
  });

  /** Topics of their own, so that what a test pre-creates meets no other test's topics. */
  function ownTopics(name: string) {
    const own = uniqueName(`it-${name}`);
    const topics = {
      ORDERS_TOPIC: `${own}-orders`,
      DLQ_TOPIC: `${own}-orders-dlq`,
      STATS_TOPIC: `${own}-order-stats`,
      REPLAYS_TOPIC: `${own}-replays`,
    };
    return { ...topics, env: { ...env, ...topics } };
  }

  const precreate = (partitions: Record<string, number>) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: Object.entries(partitions).map(([topic, numPartitions]) => ({ topic, numPartitions })),
    });

  it('grows the DLQ and retry topics to the partitions orders already has; a second run grows nothing', async () => {
    const { ORDERS_TOPIC: orders, DLQ_TOPIC: dlq, env: ownEnv } = ownTopics('init-grow');
    const followers = [dlq, `${orders}-retry-1`, `${orders}-retry-2`];
    // retry-2 is left for topic-init to create: with the 6 partitions of orders, not ORDERS_PARTITIONS (3).
    await precreate({ [orders]: 6, [dlq]: 2, [`${orders}-retry-1`]: 2 });

    const run = await runTopicInit(ownEnv);
    assert.equal(run.code, 0, run.output);
    const { topics } = await admin.fetchTopicMetadata({ topics: [orders, ...followers] });
    assert.deepEqual(
      Object.fromEntries(topics.map((t) => [t.name, t.partitions.length])),
      Object.fromEntries([orders, ...followers].map((topic) => [topic, 6])),
    );
    assert.deepEqual(summaryOf(run).grown, [
      { topic: dlq, from: 2, to: 6 },
      { topic: `${orders}-retry-1`, from: 2, to: 6 },
    ]);

    const again = await runTopicInit(ownEnv);
    assert.equal(again.code, 0, again.output);
    assert.deepEqual(summaryOf(again).grown, []);
  });

  it('a stats topic with more than one partition exits non-zero naming it and its count', async () => {
    const { STATS_TOPIC: stats, env: ownEnv } = ownTopics('init-stats');
    await precreate({ [stats]: 3 });
    const run = await runTopicInit(ownEnv);
    assert.notEqual(run.code, 0, run.output);
    assert.match(run.output, new RegExp(`${stats} has 3 partitions`));
  });

  it('an unreachable broker exits non-zero naming Kafka and where it was looked for', async () => {
    const run = await runTopicInit({ ...env, KAFKA_BROKERS: '127.0.0.1:1', INIT_TIMEOUT_MS: '2000' });
    assert.notEqual(run.code, 0);
    assert.match(run.output, /Kafka did not answer at 127\.0\.0\.1:1 within 2000 ms \(KAFKA_BROKERS\)/);
  });

  it('an unreachable registry exits non-zero naming the registry and its URL', async () => {
    const run = await runTopicInit({ ...env, SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', INIT_TIMEOUT_MS: '2000' });
    assert.notEqual(run.code, 0);
    assert.match(
      run.output,
      /schema registry did not answer at http:\/\/127\.0\.0\.1:1 within 2000 ms \(SCHEMA_REGISTRY_URL\)/,
    );
  });

  it('a missing variable exits non-zero naming it', async () => {
    const { KAFKA_BROKERS: _omitted, ...rest } = env;
    const run = await runTopicInit(rest);
    assert.notEqual(run.code, 0);
    assert.match(run.output, /KAFKA_BROKERS: is required but not set/);
  });
});
