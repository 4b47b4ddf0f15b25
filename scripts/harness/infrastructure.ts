// The one place that decides where a real broker and registry come from, for
// the tests, make test, the scenarios and the benchmarks, in this order:
// KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set; else Testcontainers, when a
// Docker engine answers, running the infrastructure of compose.yaml (not for
// the benchmarks, whose Kafka tools come with the local stack's jars); else
// the local stack (jars, no Docker), started here if it is not running. It
// says which path it took, and why. (make up's lab is the other way to get
// them: scripts/lab.ts, which the scenarios use when it is running.)
import { fileURLToPath } from 'node:url';
import { composeFiles } from './compose-file.ts';
import { freePort } from './free-port.ts';
import { describeRelease, kafkaRelease } from './kafka-release.ts';
import { killComponent, stackDown, stackUp, startComponent, stopComponent } from './local-stack.ts';

export interface Infrastructure {
  brokers: string[];
  registryUrl: string;
  /** True when the broker and registry are this machine's local stack, so a test may stop and start them. */
  local: boolean;
  /** This process started the local stack (it was not running): whoever owns the process may stop it at the end. */
  startedStack: boolean;
  /** The broker's version when this process knows it (it started or found the local stack, or Compose's). */
  kafkaVersion?: string;
}

let cached: Promise<Infrastructure> | undefined;

/** The broker and registry of this process (decided once). `testcontainers: false` skips that path. */
export function infrastructure(options: { testcontainers?: boolean } = {}): Promise<Infrastructure> {
  cached ??= resolveInfrastructure(options.testcontainers ?? true);
  return cached;
}

/**
 * infrastructure() for a process that runs others against it (make test, the
 * scenarios, the benchmarks): it is exported to process.env, where child
 * processes and the harness in them find it, and the answer has a function
 * that stops the local stack again if this process started it.
 */
export async function provideInfrastructure(
  options: { testcontainers?: boolean } = {},
): Promise<Infrastructure & { release(): Promise<void> }> {
  const infra = await infrastructure(options);
  process.env.KAFKA_BROKERS = infra.brokers.join(',');
  process.env.SCHEMA_REGISTRY_URL = infra.registryUrl;
  if (infra.local) process.env.LOCAL_STACK = '1';
  // The local stack's release, so that a test restarting its broker starts the same one.
  if (infra.kafkaVersion) process.env.KAFKA_VERSION = infra.kafkaVersion;
  return {
    ...infra,
    async release() {
      if (infra.startedStack) await stackDown();
    },
  };
}

async function resolveInfrastructure(testcontainers: boolean): Promise<Infrastructure> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, LOCAL_STACK } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL) {
    return {
      brokers: KAFKA_BROKERS.split(','),
      registryUrl: SCHEMA_REGISTRY_URL,
      local: LOCAL_STACK === '1',
      startedStack: false,
    };
  }
  if (KAFKA_BROKERS || SCHEMA_REGISTRY_URL) {
    throw new Error(
      'Set both KAFKA_BROKERS and SCHEMA_REGISTRY_URL, or neither (then Testcontainers or the local stack is used).',
    );
  }
  if (testcontainers) {
    const docker = await dockerForTestcontainers();
    if (docker.answers) return composeInfrastructure(docker.host);
    console.error(`# lab harness: local stack, as Testcontainers found no Docker engine (${docker.reason})`);
  } else {
    console.error('# lab harness: local stack (no KAFKA_BROKERS / SCHEMA_REGISTRY_URL)');
  }
  const stack = await stackUp();
  console.error(`# lab harness: ${describeRelease(stack.release)} (KAFKA_VERSION chooses the release)`);
  return {
    brokers: stack.brokers.split(','),
    registryUrl: stack.registryUrl,
    local: true,
    startedStack: !stack.alreadyUp,
    kafkaVersion: stack.release.version,
  };
}

/** Testcontainers' own runtime detection (DOCKER_HOST, ~/.testcontainers.properties, the socket...). */
async function dockerForTestcontainers(): Promise<
  { answers: true; host: string } | { answers: false; reason: string }
> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    return { answers: true, host: (await getContainerRuntimeClient()).info.containerRuntime.host };
  } catch (error) {
    return { answers: false, reason: (error as Error).message };
  }
}

/**
 * Kafka (with ZooKeeper, or in KRaft mode with compose.kraft.yaml, as
 * KAFKA_VERSION says) and the Confluent registry exactly as Compose defines
 * them (images, listeners, healthchecks), on free host ports so they never
 * collide with a lab or a local stack on 9092/8081. Testcontainers waits for
 * their healthchecks, and its reaper removes them when this process ends.
 */
async function composeInfrastructure(host: string): Promise<Infrastructure> {
  const release = kafkaRelease();
  const services = [...(release.mode === 'zookeeper' ? ['zookeeper'] : []), 'kafka', 'schema-registry'];
  const { DockerComposeEnvironment } = await import('testcontainers');
  const kafkaPort = await freePort();
  let registryPort = await freePort();
  while (registryPort === kafkaPort) registryPort = await freePort();
  console.error(
    `# lab harness: Testcontainers (Docker answers), ${services.join(', ')} of ${composeFiles(release).join(' + ')} ` +
      `on ${host}`,
  );
  await new DockerComposeEnvironment(fileURLToPath(new URL('../../', import.meta.url)), composeFiles(release))
    .withEnvironment({
      KAFKA_VERSION: release.version,
      KAFKA_HOST_NAME: host,
      KAFKA_HOST_PORT: String(kafkaPort),
      REGISTRY_HOST_PORT: String(registryPort),
    })
    .withStartupTimeout(180_000)
    .up(services);
  return {
    brokers: [`${host}:${kafkaPort}`],
    registryUrl: `http://${host}:${registryPort}`,
    local: false,
    startedStack: false,
    kafkaVersion: release.version,
  };
}

/**
 * Why this run may not stop or kill the broker or registry, or undefined when
 * it may: only when they are this machine's local stack (which the harness
 * chose, or make test started and said so), never someone else's.
 */
export async function whyStackIsNotOurs(): Promise<string | undefined> {
  const infra = await infrastructure();
  return infra.local
    ? undefined
    : `needs the local stack, to stop parts of it; this run uses ${infra.brokers.join(',')}`;
}

async function assertStackIsOurs(): Promise<void> {
  const why = await whyStackIsNotOurs();
  if (why !== undefined) throw new Error(why);
}

/** Stops the local registry, runs the body, and starts the registry again whatever happens. */
export async function withRegistryStopped<T>(body: () => Promise<T>): Promise<T> {
  await assertStackIsOurs();
  await stopComponent('registry');
  try {
    return await body();
  } finally {
    await startComponent('registry');
  }
}

/** Kills the local broker with SIGKILL (no shutdown), runs the body, and starts the broker again whatever happens. */
export async function withBrokerKilled<T>(body: () => Promise<T>): Promise<T> {
  await assertStackIsOurs();
  await killComponent('kafka');
  try {
    return await body();
  } finally {
    await startComponent('kafka');
  }
}
