// Drift between compose.yaml and the code it runs: each tsx service's
// environment against its config spec (nothing required missing, nothing the
// service would ignore, every value valid), pinned images, and the start order
// the lab relies on. No Docker needed; `docker-compose config -q` in CI checks
// the file against the Compose schema.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadConfig, requiredVariables, serviceSpecs } from '../../services/lib/config.ts';
import { TESTED_KRAFT_VERSION } from '../../scripts/harness/kafka-release.ts';
import {
  KRAFT_OVERRIDE_FILE,
  interpolate,
  isOneShot,
  nodeOptionsOf,
  ourServices,
  readComposeFile,
  resolvedEnvironment,
  type ComposeService,
} from '../../scripts/harness/compose-file.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const services = readComposeFile();
const tsxServices = ourServices(services);
const packageVersion = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;

function specOf(service: ComposeService): Record<string, object> {
  const spec = (serviceSpecs as Record<string, Record<string, object>>)[service.name];
  assert.ok(
    spec,
    `compose service ${service.name} is built from this repo but services/lib/config.ts has no ` +
      `serviceSpecs['${service.name}']`,
  );
  return spec;
}

/** name:tag with a version in the tag, or a digest; never `latest`. */
function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && tag !== 'latest' && /\d/.test(tag);
}

describe('compose.yaml', () => {
  it('runs every service that has a config spec, and only those, from the repo image', () => {
    assert.deepEqual(tsxServices.map((service) => service.name).sort(), Object.keys(serviceSpecs).sort());
  });

  for (const service of tsxServices) {
    describe(service.name, () => {
      it('sets every variable its config requires', () => {
        const missing = requiredVariables(specOf(service)).filter((name) => !service.environment[name]);
        assert.deepEqual(missing, [], `${service.name} needs ${missing.join(', ')} in its environment`);
      });

      it('sets no variable its config does not know (a typo would be ignored silently)', () => {
        const spec = specOf(service);
        // NODE_OPTIONS is Node's own.
        const unknown = Object.keys(service.environment).filter((name) => !(name in spec) && name !== 'NODE_OPTIONS');
        assert.deepEqual(unknown, [], `${service.name} does not read ${unknown.join(', ')}`);
      });

      it('passes its own config validation with the defaults compose.yaml gives', () => {
        assert.doesNotThrow(() => loadConfig(specOf(service), resolvedEnvironment(service, {})));
      });

      it('runs an entrypoint that exists', () => {
        const entrypoint = service.command?.[0];
        assert.ok(
          entrypoint && existsSync(`${root}${entrypoint}`),
          `${service.name}: command ${String(entrypoint)} is not a file in the repo`,
        );
      });

      if (isOneShot(service, services)) return;
      it('waits for topic-init to succeed and has a healthcheck', () => {
        assert.equal(service.dependsOn['topic-init'], 'service_completed_successfully');
        assert.ok(service.healthcheck?.test, `${service.name} is long-running and needs a healthcheck`);
      });
    });
  }

  it('has topic-init as the one one-shot step, which the other tsx services wait for', () => {
    assert.deepEqual(
      tsxServices.filter((service) => isOneShot(service, services)).map((service) => service.name),
      ['topic-init'],
    );
  });

  it('pins every image, and tags the repo image with the package version', () => {
    const unpinned = services
      .filter((service) => !service.image || !isPinned(service.image))
      .map((service) => `${service.name}: ${service.image}`);
    assert.deepEqual(unpinned, []);
    for (const service of tsxServices) assert.equal(service.image, `kafka-orders:${packageVersion}`);
  });

  it('gives the infrastructure healthchecks that the services wait on', () => {
    for (const name of ['zookeeper', 'kafka', 'schema-registry']) {
      assert.ok(services.find((service) => service.name === name)?.healthcheck?.test, `${name} has no healthcheck`);
    }
    const topicInit = services.find((service) => service.name === 'topic-init');
    assert.deepEqual(topicInit?.dependsOn, { kafka: 'service_healthy', 'schema-registry': 'service_healthy' });
  });

  it('gives topic-init, the consumer and the DLQ service the same topics, group and retry count', () => {
    const [topicInit, consumer, dlqService] = ['topic-init', 'consumer', 'dlq-service'].map(
      (name) => services.find((service) => service.name === name)!,
    );
    // Retry topics are made per retry, so the retry count must agree too.
    for (const name of ['ORDERS_TOPIC', 'DLQ_TOPIC', 'STATS_TOPIC', 'REPLAYS_TOPIC', 'MAX_RETRIES']) {
      assert.equal(consumer!.environment[name], topicInit!.environment[name], name);
    }
    for (const name of ['ORDERS_TOPIC', 'DLQ_TOPIC', 'STATS_TOPIC', 'REPLAYS_TOPIC', 'CONSUMER_GROUP']) {
      assert.equal(dlqService!.environment[name], consumer!.environment[name], name);
    }
  });

  it('runs the continuous producer by default: endless, slow, with a share of every kind of failure', () => {
    const producer = services.find((service) => service.name === 'producer')!;
    assert.deepEqual(producer.profiles, []);
    const config = loadConfig(serviceSpecs.producer, resolvedEnvironment(producer, {}));
    assert.equal(config.PRODUCER_COUNT, 0);
    assert.ok(config.PRODUCER_INTERVAL_SECONDS >= 0.1, 'slow enough to watch');
    for (const share of [config.PRODUCER_INVALID, config.PRODUCER_POISON, config.PRODUCER_TRANSIENT]) {
      assert.ok(share > 0 && share < 10, `a few in every 100 records, got ${share}`);
    }
    const consumer = services.find((service) => service.name === 'consumer')!;
    const maxRetries = loadConfig(serviceSpecs.consumer, resolvedEnvironment(consumer, {})).MAX_RETRIES;
    assert.ok(config.PRODUCER_FAIL_TIMES <= maxRetries, 'its transient orders recover within the retry budget');
  });

  it("caps the DLQ service's heap, and hands the same options to the processes started outside Compose", () => {
    const dlqService = services.find((service) => service.name === 'dlq-service')!;
    const options = resolvedEnvironment(dlqService, {}).NODE_OPTIONS ?? '';
    assert.match(options, /--max-old-space-size=\d+/);
    assert.deepEqual(nodeOptionsOf(dlqService.command![0]!), { NODE_OPTIONS: options });
    assert.deepEqual(nodeOptionsOf('services/consumer/main.ts'), {}, 'the consumer runs with Node defaults');
    const limit = Number(/--max-old-space-size=(\d+)/.exec(options)![1]);
    // The largest request the service answers (a bulk replay of DLQ_REPLAY_BATCH_MAX dead letters of a few KB
    // each) fits in the old generation with room to spare.
    const config = loadConfig(serviceSpecs['dlq-service'], resolvedEnvironment(dlqService, {}));
    assert.ok(limit >= 100, `an old generation of ${limit} MB`);
    assert.ok(config.DLQ_REPLAY_BATCH_MAX * 5_000 < (limit / 4) * 1e6, 'the default batch uses under a quarter');
  });

  it('does not make Kafka wait on ZooKeeper, so that the KRaft override can leave ZooKeeper out', () => {
    assert.deepEqual(services.find((service) => service.name === 'kafka')?.dependsOn, {});
  });
});

describe(KRAFT_OVERRIDE_FILE, () => {
  const override = (
    parse(readFileSync(`${root}${KRAFT_OVERRIDE_FILE}`, 'utf8')) as {
      services: Record<string, { profiles?: string[]; image?: string; environment?: Record<string, unknown> }>;
    }
  ).services;
  const base = services.find((service) => service.name === 'kafka')!;
  const kafka = override.kafka!;
  const environment = { ...base.environment, ...kafka.environment } as Record<string, string | number>;
  const listenerNames = (listeners: string) => listeners.split(',').map((listener) => listener.split('://')[0]);

  it('changes only ZooKeeper (left out by a profile never activated) and Kafka', () => {
    assert.deepEqual(Object.keys(override).sort(), ['kafka', 'zookeeper']);
    assert.equal(override.zookeeper!.profiles?.length, 1);
    assert.deepEqual(Object.keys(override.zookeeper!), ['profiles']);
  });

  it("runs Apache Kafka's image at the KRaft version the local stack is tested on, pinned", () => {
    assert.equal(kafka.image, `apache/kafka:\${KAFKA_VERSION:-${TESTED_KRAFT_VERSION}}`);
    assert.ok(isPinned(interpolate(kafka.image!, {})));
  });

  it('is one combined broker and controller whose node id is the broker id compose.yaml gives', () => {
    assert.equal(environment.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.equal(String(environment.KAFKA_NODE_ID), String(environment.KAFKA_BROKER_ID));
    assert.equal(environment.KAFKA_CONTROLLER_QUORUM_VOTERS, `${environment.KAFKA_NODE_ID}@kafka:29093`);
    assert.ok(environment.CLUSTER_ID && Buffer.from(String(environment.CLUSTER_ID), 'base64url').length === 16);
  });

  it("listens where compose.yaml's clients connect, plus a controller listener of its own", () => {
    const advertised = listenerNames(String(environment.KAFKA_ADVERTISED_LISTENERS));
    const listening = listenerNames(String(environment.KAFKA_LISTENERS));
    assert.deepEqual(listening, [...advertised, environment.KAFKA_CONTROLLER_LISTENER_NAMES]);
    const mapped = listenerNames(String(environment.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).replaceAll(':', '://'));
    assert.deepEqual(mapped.sort(), [...listening].sort());
  });
});

describe('Dockerfile', () => {
  it('builds on a pinned Node of the major the project targets', () => {
    const from = /^FROM\s+(\S+)/m.exec(readFileSync(`${root}Dockerfile`, 'utf8'))?.[1] ?? '';
    const major = readFileSync(`${root}.nvmrc`, 'utf8').trim();
    assert.match(from, new RegExp(`^node:${major}\\.\\d+\\.\\d+-slim$`));
  });

  it('has the dependency patches in the image before npm ci, whose postinstall applies them', () => {
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    const copied = dockerfile.search(/^COPY services\/lib\/patches \.\/services\/lib\/patches$/m);
    assert.ok(copied >= 0 && copied < dockerfile.search(/^RUN npm ci/m), 'the patches are copied before RUN npm ci');
    const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));
    assert.equal(manifest.scripts.postinstall, 'patch-package --patch-dir services/lib/patches');
    assert.ok(manifest.dependencies['patch-package'], 'patch-package is installed with --omit=dev too');
  });
});
