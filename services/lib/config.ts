// The one place where environment variables are read and validated. Every
// service declares the variables it needs as an envalid spec; a missing or
// malformed value throws ConfigError, which names each variable and what was
// expected, so a service stops at start instead of failing later.
import { parseArgs } from 'node:util';
import { bool, cleanEnv, EnvError, EnvMissingError, makeValidator, str, url, type CleanedEnv } from 'envalid';

export class ConfigError extends Error {
  constructor(readonly problems: Record<string, string>) {
    super(
      'Invalid configuration:\n' +
        Object.entries(problems)
          .map(([name, problem]) => `  ${name}: ${problem}`)
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return makeValidator<number>((input) => {
    const value = Number(input);
    if (!/^-?\d+$/.test(String(input).trim()) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new EnvError(`expected a whole number ${range}, got "${input}"`);
    }
    return value;
  });
}

function decimal(min: number, max: number) {
  return makeValidator<number>((input) => {
    const value = Number(input);
    if (String(input).trim() === '' || !Number.isFinite(value) || value < min || value > max) {
      throw new EnvError(`expected a number from ${min} to ${max}, got "${input}"`);
    }
    return value;
  });
}

/** A bearer token: 16 characters or more; empty counts as unset. */
function secret(emptyMeans: string) {
  return makeValidator<string>((input) => {
    if (input !== '' && String(input).length < 16)
      throw new EnvError(`expected at least 16 characters (${emptyMeans})`);
    return String(input);
  });
}

const brokerList = makeValidator<string[]>((input) => {
  const brokers = String(input)
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  const bad = brokers.find((broker) => !/^[\w.-]+:\d{1,5}$/.test(broker));
  if (brokers.length === 0 || bad !== undefined) {
    throw new EnvError(`expected a comma-separated list of host:port, got "${input}"`);
  }
  return brokers;
});

const topicName = makeValidator<string>((input) => {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(String(input))) {
    throw new EnvError(`expected a Kafka topic name (letters, digits, . _ -), got "${input}"`);
  }
  return String(input);
});

const connection = {
  KAFKA_BROKERS: brokerList({ desc: 'Kafka bootstrap servers, host:port[,host:port]' }),
  SCHEMA_REGISTRY_URL: url({ desc: 'Confluent-compatible schema registry base URL' }),
  LOG_LEVEL: str({ choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' }),
};

const topics = {
  ORDERS_TOPIC: topicName({ default: 'orders' }),
  DLQ_TOPIC: topicName({ default: 'orders-dlq' }),
  STATS_TOPIC: topicName({ default: 'order-stats' }),
  REPLAYS_TOPIC: topicName({ default: 'orders-dlq-replays' }),
};

const retry = {
  MAX_RETRIES: wholeNumber(0, 20)({ default: 3 }),
  RETRY_BASE_MS: wholeNumber(1)({ default: 1000 }),
  RETRY_FACTOR: decimal(1, 10)({ default: 2 }),
  RETRY_MAX_MS: wholeNumber(1)({ default: 30_000 }),
  RETRY_JITTER: decimal(0, 1)({ default: 0 }),
  RETRY_MODE: str({ choices: ['blocking', 'topics'], default: 'blocking' }),
};

/** The variables each service reads; compose.yaml is checked against these. */
export const serviceSpecs = {
  'topic-init': {
    ...connection,
    ...topics,
    ...retry,
    ORDERS_PARTITIONS: wholeNumber(1, 1000)({ default: 3 }),
    REPLICATION_FACTOR: wholeNumber(1, 10)({ default: 1 }),
    DLQ_RETENTION_MS: wholeNumber(-1)({ default: 30 * 24 * 3600 * 1000 }),
    SCHEMA_FILE: str({ default: 'schemas/order.avsc' }),
    INIT_TIMEOUT_MS: wholeNumber(1000)({ default: 60_000 }),
  },
  consumer: {
    ...connection,
    ...topics,
    ...retry,
    CONSUMER_GROUP: str({ default: 'order-processor' }),
    FAULT_INJECTION: bool({ default: false, desc: "honour the producer's fault headers (on in the lab)" }),
    DOWNSTREAM_LATENCY_MS: wholeNumber(0)({ default: 0 }),
    COMMIT_MAX_RECORDS: wholeNumber(1)({ default: 20_000, desc: 'most records one transaction covers' }),
    // Half the broker's default message.max.bytes. Checked at start against
    // the max.message.bytes of every topic a transaction writes to.
    COMMIT_MAX_BYTES: wholeNumber(16_384)({
      default: 524_288,
      desc:
        'most bytes one transaction writes (dead letters, retry and order-stats records); ' +
        'at most max.message.bytes of those topics',
    }),
    INFRA_RETRY_MAX_MS: wholeNumber(100)({
      default: 30_000,
      desc: 'cap of the wait while the registry or Kafka is down',
    }),
    RESTORE_TIMEOUT_MS: wholeNumber(1000)({
      default: 30_000,
      desc: 'most time to read the order-stats topic when taking a partition',
    }),
    STATS_ON_OFFSET_RESET: str({
      choices: ['keep', 'zero'],
      default: 'keep',
      desc:
        "when the group's offset was moved outside the consumer: " +
        "keep the partition's aggregate, or start it from zero",
    }),
    HEALTH_STALL_MS: wholeNumber(1000)({
      default: 60_000,
      desc: 'a partition failing to commit this long makes /health answer 503',
    }),
    SESSION_TIMEOUT_MS: wholeNumber(
      6000,
      300_000,
    )({ default: 30_000, desc: 'how long a silent member keeps its partitions' }),
    HTTP_PORT: wholeNumber(0, 65535)({ default: 9464, desc: '/health and /metrics' }),
  },
  producer: {
    ...connection,
    ORDERS_TOPIC: topics.ORDERS_TOPIC,
    SCHEMA_FILE: str({ default: 'schemas/order.avsc' }),
    PRODUCER_INTERVAL_SECONDS: decimal(0, 3600)({ default: 0.5, desc: 'pause between orders' }),
    PRODUCER_COUNT: wholeNumber(0)({ default: 50, desc: 'valid orders to send; 0 = until stopped' }),
    PRODUCER_SEED: wholeNumber(0)({ default: undefined, desc: 'makes the run repeatable' }),
    PRODUCER_INVALID: wholeNumber(0)({
      default: 0,
      desc: 'orders that fail validation (with PRODUCER_COUNT=0: in every 100 records)',
    }),
    PRODUCER_POISON: wholeNumber(0)({
      default: 0,
      desc: 'values that are not readable Avro (with PRODUCER_COUNT=0: in every 100 records)',
    }),
    PRODUCER_TRANSIENT: wholeNumber(0)({
      default: 0,
      desc: 'orders that fail transiently (with PRODUCER_COUNT=0: in every 100 records)',
    }),
    PRODUCER_FAIL_TIMES: wholeNumber(1)({ default: 1, desc: 'how many attempts of a transient order fail' }),
    PRODUCER_JSON: bool({
      default: false,
      desc:
        'print the ground truth as JSON on stdout at the end, logs on stderr ' +
        '(finite runs of at most 1,000,000 records)',
    }),
    HTTP_PORT: wholeNumber(0, 65535)({ default: 9465, desc: '/health and /metrics' }),
  },
  'dlq-service': {
    ...connection,
    ...topics,
    CONSUMER_GROUP: str({ default: 'order-processor', desc: 'the group whose aggregate GET /stats/orders shows' }),
    HTTP_PORT: wholeNumber(0, 65535)({ default: 8080 }),
    HTTP_HOST: str({ default: '0.0.0.0' }),
    // Empty counts as unset, so Compose can pass `${DLQ_API_TOKEN:-}` through.
    DLQ_API_TOKEN: secret('or empty for read-only')({
      default: undefined,
      desc: 'bearer token for the replay routes; unset = read-only',
    }),
    DLQ_READ_TOKEN: secret('or empty for open reads')({
      default: undefined,
      desc: 'bearer token every read route needs (the API token is accepted too); unset = reads are open',
    }),
    DLQ_ALERTS_TOKEN: secret('or empty to refuse alerts')({
      default: undefined,
      desc: "bearer token Alertmanager's webhook sends to POST /alerts; unset = POST /alerts answers 403",
    }),
    DLQ_MAX_REPLAYS: wholeNumber(1, 100)({ default: 3, desc: 'loop guard: most times an order may be replayed' }),
    DLQ_PAGE_SIZE: wholeNumber(1, 10_000)({ default: 50, desc: 'GET /dlq page size when no limit is given' }),
    DLQ_PAGE_SIZE_MAX: wholeNumber(1, 10_000)({ default: 500, desc: 'largest limit GET /dlq accepts' }),
    DLQ_REPLAY_BATCH_MAX: wholeNumber(1, 10_000)({ default: 1000, desc: 'most records one POST /dlq/replay replays' }),
    DLQ_DB_PATH: str({ desc: 'the dead-letter archive, a SQLite file (created when missing)' }),
    DLQ_ARCHIVE_MAX_AGE_DAYS: wholeNumber(
      1,
      36_500,
    )({
      default: 180,
      desc: 'archived dead letters older than this are dropped, oldest first',
    }),
    DLQ_ARCHIVE_MAX_RECORDS: wholeNumber(1)({
      default: 5_000_000,
      desc: 'most dead letters the archive keeps; beyond it the oldest are dropped',
    }),
  },
} as const;

export type ServiceName = keyof typeof serviceSpecs;

type Spec = Record<string, { default?: unknown }>;
type Env = Record<string, string | undefined>;

export function loadConfig<S extends Spec>(spec: S, env: Env = process.env): CleanedEnv<S> {
  return cleanEnv(env, spec, {
    reporter: ({ errors }) => {
      const entries = Object.entries(errors);
      if (entries.length === 0) return;
      throw new ConfigError(
        Object.fromEntries(
          entries.map(([name, error]) => [
            name,
            error instanceof EnvMissingError ? 'is required but not set' : (error?.message ?? 'is invalid'),
          ]),
        ),
      );
    },
  });
}

export type ServiceConfig<N extends ServiceName> = CleanedEnv<(typeof serviceSpecs)[N]>;

/** Names of the variables a spec cannot do without (no default). */
export function requiredVariables(spec: Spec): string[] {
  return Object.entries(spec)
    .filter(([, validator]) => !('default' in validator))
    .map(([name]) => name);
}

/**
 * Command-line flags (the original Python producer's and the scripts' own),
 * as the environment variables they stand for: parses `argv` with node:util
 * parseArgs and returns the environment with the given flags laid over it, so
 * flags and variables share one validation.
 */
export function withFlags(
  argv: string[],
  flags: Record<string, { variable: string; boolean?: boolean }>,
  env: Env = process.env,
): Env {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.entries(flags).map(([flag, { boolean }]) => [flag, { type: boolean ? 'boolean' : 'string' }]),
    ),
    allowPositionals: false,
  });
  const overlay = Object.fromEntries(
    Object.entries(values).map(([flag, value]) => [flags[flag]!.variable, String(value)]),
  );
  return { ...env, ...overlay };
}
