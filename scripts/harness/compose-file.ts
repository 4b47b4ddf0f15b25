// compose.yaml as data. It is the one description of the lab's services (what
// runs, with which environment, in which order): Compose runs it, the local
// mode of `make up` runs the same services from it as processes, and the drift
// test checks it against the services' config specs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { KafkaRelease } from './kafka-release.ts';

export const COMPOSE_FILE = fileURLToPath(new URL('../../compose.yaml', import.meta.url));

/** The override that swaps ZooKeeper-mode Kafka for Kafka 4 in KRaft mode (KAFKA_VERSION=4.x). */
export const KRAFT_OVERRIDE_FILE = 'compose.kraft.yaml';

/** A release's Compose files, relative to the repository root, in `-f` order. */
export function composeFiles({ mode }: KafkaRelease): string[] {
  return ['compose.yaml', ...(mode === 'kraft' ? [KRAFT_OVERRIDE_FILE] : [])];
}

export type Condition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface ComposeService {
  name: string;
  image?: string;
  /** Set for the services built from this repository (the tsx services). */
  build?: unknown;
  command?: string[];
  /** As written: values may hold ${VAR:-default}; null means "passed through from the caller's environment". */
  environment: Record<string, string | null>;
  profiles: string[];
  dependsOn: Record<string, Condition>;
  ports: string[];
  healthcheck?: { test?: string[] };
}

interface RawService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  profiles?: string[];
  depends_on?: string[] | Record<string, { condition?: Condition }>;
  ports?: (string | number)[];
  healthcheck?: { test?: string[] };
}

let parsed: ComposeService[] | undefined;

/** compose.yaml's services, parsed once per process (`make up` asks on every health poll). */
export function readComposeFile(): ComposeService[] {
  parsed ??= parseComposeFile();
  return parsed;
}

function parseComposeFile(): ComposeService[] {
  // Merge keys (<<) are YAML 1.1; Compose resolves them, so we do too.
  const document = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
    services?: Record<string, RawService>;
  };
  return Object.entries(document.services ?? {}).map(([name, raw]) => ({
    name,
    image: raw.image,
    build: raw.build,
    command: typeof raw.command === 'string' ? raw.command.split(/\s+/) : raw.command,
    environment: environmentOf(raw.environment),
    profiles: raw.profiles ?? [],
    dependsOn: Array.isArray(raw.depends_on)
      ? Object.fromEntries(raw.depends_on.map((dependency) => [dependency, 'service_started' as const]))
      : Object.fromEntries(
          Object.entries(raw.depends_on ?? {}).map(([dependency, { condition }]) => [
            dependency,
            condition ?? 'service_started',
          ]),
        ),
    ports: (raw.ports ?? []).map(String),
    healthcheck: raw.healthcheck,
  }));
}

function environmentOf(environment: RawService['environment']): Record<string, string | null> {
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const equals = entry.indexOf('=');
        return equals === -1 ? [entry, null] : [entry.slice(0, equals), entry.slice(equals + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(environment ?? {}).map(([name, value]) => [name, value === null ? null : String(value)]),
  );
}

/**
 * Compose's variable substitution for the forms this file uses: ${VAR},
 * ${VAR:-default} (default when unset or empty) and ${VAR-default} (when unset).
 */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\{(\w+)(?:(:?)-([^}]*))?\}/g,
    (_, name: string, colon: string | undefined, fallback: string | undefined) => {
      const set = env[name];
      if (fallback === undefined) return set ?? '';
      return set === undefined || (colon === ':' && set === '') ? fallback : set;
    },
  );
}

/** A service's environment as Compose hands it to the container. */
export function resolvedEnvironment(
  service: ComposeService,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries(service.environment)) {
    const final = value === null ? env[name] : interpolate(value, env);
    if (final !== undefined) resolved[name] = final;
  }
  return resolved;
}

/**
 * NODE_OPTIONS as compose.yaml gives it to the service that runs `entrypoint`
 * (a path from the repository root), for a process started outside Compose
 * (tests, benchmarks): the DLQ service's heap settings, for one.
 */
export function nodeOptionsOf(entrypoint: string): Record<string, string> {
  const options = readComposeFile().find((service) => service.command?.[0] === entrypoint)?.environment.NODE_OPTIONS;
  return typeof options === 'string' ? { NODE_OPTIONS: options } : {};
}

/** The services built from this repository: the tsx services. */
export function ourServices(services: ComposeService[]): ComposeService[] {
  return services.filter((service) => service.build !== undefined);
}

/** Services another one waits for to exit 0 (topic-init): run to completion, not kept running. */
export function isOneShot(service: ComposeService, services: ComposeService[]): boolean {
  return services.some((other) => other.dependsOn[service.name] === 'service_completed_successfully');
}

/** The services in an order where each comes after everything it depends on. */
export function startOrder(services: ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((service) => [service.name, service]));
  const ordered: ComposeService[] = [];
  const visit = (service: ComposeService, path: string[]): void => {
    if (ordered.includes(service)) return;
    if (path.includes(service.name))
      throw new Error(`compose.yaml: depends_on cycle ${[...path, service.name].join(' -> ')}`);
    for (const dependency of Object.keys(service.dependsOn)) {
      const next = byName.get(dependency);
      if (next) visit(next, [...path, service.name]);
    }
    ordered.push(service);
  };
  for (const service of services) visit(service, []);
  return ordered;
}

/** The host port Compose publishes for a container port of the service. */
export function publishedPort(
  service: ComposeService,
  containerPort: number,
  env: Record<string, string | undefined>,
): number | undefined {
  for (const mapping of service.ports) {
    // [host-ip:]host-port:container-port[/protocol]
    const parts = interpolate(mapping, env)
      .replace(/\/\w+$/, '')
      .split(':');
    if (parts.length >= 2 && Number(parts.at(-1)) === containerPort) return Number(parts.at(-2));
  }
  return undefined;
}
