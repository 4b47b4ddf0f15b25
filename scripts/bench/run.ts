#!/usr/bin/env -S npx tsx
// Runs the benchmarks side by side on one broker and writes bench/RESULTS.md.
//
//   scripts/bench/run.ts            full run: waits for a quiet machine, then all benchmarks
//   scripts/bench/run.ts --smoke    a few hundred records each, seconds; keeps the scripts working in CI
//   scripts/bench/run.ts --only producer,consumer --no-wait
//
// Broker and registry: KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set, else the
// local stack (started if it is not running, and stopped again afterwards):
// scripts/harness/infrastructure.ts decides.
// Benchmarks measure; they assert nothing about time.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { provideInfrastructure } from '../harness/infrastructure.ts';
import { kafkaJarsDir, stackRelease } from '../harness/local-stack.ts';
import { benchConsumer } from './consumer.ts';
import { benchDlqService } from './dlq-service.ts';
import { benchKafkajsVersions } from './kafkajs-versions.ts';
import { REPO_ROOT, stopAllChildren, type BenchEnvironment } from './lab.ts';
import { benchLatency } from './latency.ts';
import { benchLibrdkafka } from './librdkafka.ts';
import { formatLoad, loadAverages, machineFacts, waitForQuiet, type QuietWait } from './measure.ts';
import { benchProducer } from './producer.ts';
import { markdownTable, renderResults, section, type RunInfo, type Section } from './report.ts';
import { benchScale } from './scale.ts';
import { benchSerde } from './serde.ts';
import { benchStorm } from './storm.ts';

const BENCHMARKS = [
  'producer',
  'consumer',
  'latency',
  'storm',
  'serde',
  'dlq',
  'kafkajs',
  'librdkafka',
  'scale',
  'profile',
] as const;
type BenchmarkId = (typeof BENCHMARKS)[number];
/** Where `npm install --prefix .cache/kafkajs-2.2.3 kafkajs@2.2.3` puts it (git-ignored, like all of .cache). */
const DEFAULT_KAFKAJS_223 = join(REPO_ROOT, '.cache/kafkajs-2.2.3/node_modules/kafkajs');

const { values: flags } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-wait': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'quiet-load': { type: 'string', default: '0.8' },
    'quiet-minutes': { type: 'string', default: '60' },
    out: { type: 'string' },
    'kafkajs-dir': { type: 'string', default: DEFAULT_KAFKAJS_223 },
    'producer-records': { type: 'string' },
    'consumer-records': { type: 'string' },
    'storm-blocking-records': { type: 'string' },
    'storm-topics-records': { type: 'string' },
    'storm-retry-base-ms': { type: 'string' },
    'latency-seconds': { type: 'string' },
    'dlq-records': { type: 'string' },
    'consumer-variants': { type: 'string' },
    'librdkafka-records': { type: 'string' },
    'librdkafka-txn-records': { type: 'string' },
    'scale-records': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});

if (flags.help) {
  process.stdout.write(
    [
      'usage: scripts/bench/run.ts [--smoke] [--only a,b] [--no-wait] [--profile] [--out file] [--kafkajs-dir dir]',
      '--profile: every Node service the benchmarks start runs under node --cpu-prof (figures then include its ' +
        'overhead)',
      `benchmarks: ${BENCHMARKS.join(', ')} (profile: the producer and consumer again under node --cpu-prof)`,
      `--kafkajs-dir: kafkajs 2.2.3 to compare with (default ${relative(REPO_ROOT, DEFAULT_KAFKAJS_223)};`,
      '  install it with: npm install --prefix .cache/kafkajs-2.2.3 kafkajs@2.2.3)',
      'sizes: --producer-records --consumer-records --storm-blocking-records --storm-topics-records ' +
        '--storm-retry-base-ms --latency-seconds --dlq-records --librdkafka-records --librdkafka-txn-records ' +
        '--scale-records',
      'librdkafka: kafkajs against @confluentinc/kafka-javascript, built into .cache on the first full run ' +
        '(about 1.5 min; skipped in --smoke until then)',
      "--consumer-variants 'A=1,B=2;C=3': consumer settings measured besides the defaults",
      "  (full run default: 'COMMIT_MAX_RECORDS=2000;COMMIT_MAX_RECORDS=5000'; '' for none)",
      '',
    ].join('\n'),
  );
  process.exit(0);
}

function wholeNumberFlag(name: keyof typeof flags, fallback: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    process.stderr.write(`--${name} expects a whole number above 0, got "${String(raw)}"\n`);
    process.exit(2);
  }
  return value;
}

function positiveNumberFlag(name: 'quiet-load' | 'quiet-minutes'): number {
  const value = Number(flags[name]);
  if (!(value > 0)) {
    process.stderr.write(`--${name} expects a number above 0, got "${String(flags[name])}"\n`);
    process.exit(2);
  }
  return value;
}

const smoke = flags.smoke;
const quietLoad = positiveNumberFlag('quiet-load');
const quietMinutes = positiveNumberFlag('quiet-minutes');

/** 'A=1,B=2;C=3' -> [{ A: '1', B: '2' }, { C: '3' }]; the full run's default shows what the commit cadence costs. */
function parseVariants(raw: string | undefined): Record<string, string>[] {
  if (raw === undefined) return smoke ? [] : [{ COMMIT_MAX_RECORDS: '2000' }, { COMMIT_MAX_RECORDS: '5000' }];
  return raw
    .split(';')
    .filter((variant) => variant.trim() !== '')
    .map((variant) =>
      Object.fromEntries(
        variant.split(',').map((pair) => {
          const [name, value] = pair.trim().split('=', 2);
          if (!name || value === undefined) {
            process.stderr.write(`--consumer-variants expects NAME=value pairs, got "${pair.trim()}"\n`);
            process.exit(2);
          }
          return [name, value];
        }),
      ),
    );
}
const consumerVariants = parseVariants(flags['consumer-variants']);
const sizes = {
  producerRecords: wholeNumberFlag('producer-records', smoke ? 500 : 500_000),
  consumerRecords: wholeNumberFlag('consumer-records', smoke ? 500 : 1_000_000),
  repeats: smoke ? 1 : 2,
  latencyRate: smoke ? 200 : 1000,
  latencySeconds: wholeNumberFlag('latency-seconds', smoke ? 2 : 60),
  latencyWarmUpSeconds: smoke ? 1 : 5,
  stormBlockingRecords: wholeNumberFlag('storm-blocking-records', smoke ? 300 : 10_000),
  stormTopicsRecords: wholeNumberFlag('storm-topics-records', smoke ? 300 : 300_000),
  stormRetryBaseMs: wholeNumberFlag('storm-retry-base-ms', smoke ? 20 : 100),
  serdeMs: smoke ? 200 : 3000,
  dlqRecords: wholeNumberFlag('dlq-records', smoke ? 500 : 1_000_000),
  dlqSeconds: smoke ? 2 : 30,
  dlqRate: smoke ? 100 : 1000,
  versionsRecords: smoke ? 300 : 300_000,
  versionsIdleMs: smoke ? 1000 : 10_000,
  profileRecords: smoke ? 300 : 300_000,
  librdkafkaRecords: wholeNumberFlag('librdkafka-records', smoke ? 500 : 300_000),
  librdkafkaTxnRecords: wholeNumberFlag('librdkafka-txn-records', smoke ? 100 : 500),
  scaleRecords: wholeNumberFlag('scale-records', smoke ? 300 : 200_000),
};

const only = flags.only?.split(',').map((id) => id.trim()) ?? [...BENCHMARKS];
const unknown = only.filter((id) => !(BENCHMARKS as readonly string[]).includes(id));
if (unknown.length > 0) {
  process.stderr.write(`--only: unknown benchmark(s) ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}\n`);
  process.exit(2);
}
const selected = (id: BenchmarkId) => only.includes(id);

// An interrupted run stops the services it started; their topics stay (bench-* prefix).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the services this run started`);
    void stopAllChildren(10_000).then(() => process.exit(130));
  });
}

const startedAt = new Date();
const out =
  flags.out ?? (smoke ? join(REPO_ROOT, '.cache/bench/smoke/RESULTS.md') : join(REPO_ROOT, 'bench/RESULTS.md'));
const workDir = join(REPO_ROOT, '.cache/bench', startedAt.toISOString().replaceAll(':', '-'));
await mkdir(workDir, { recursive: true });
const say = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

// The Kafka tools the benchmarks compare with come with the local stack's jars, so never Testcontainers.
const infra = await provideInfrastructure({ testcontainers: false });
const brokers = infra.brokers.join(',');
const { registryUrl } = infra;

let quiet: QuietWait | undefined;
if (!smoke && !flags['no-wait']) {
  quiet = await waitForQuiet({
    threshold: quietLoad,
    quietForMs: 60_000,
    pollMs: 30_000,
    timeoutMs: quietMinutes * 60_000,
    say,
  });
  say(
    quiet.quiet
      ? `machine is quiet (load ${formatLoad(quiet.load)})`
      : `machine never became quiet (load ${formatLoad(quiet.load)}); measuring anyway`,
  );
}

const env: BenchEnvironment = { brokers: brokers.split(','), registryUrl, workDir, profile: flags.profile, say };
const loadAtStart = loadAverages();
const kafka = await stackRelease();
const machine = await machineFacts({ kafkaJarsDir: kafkaJarsDir(kafka), kafkaMode: kafka.mode, registryUrl });
const sections: Section[] = [];
const failures: RunInfo['failures'] = [];
const command = `scripts/bench/run.ts ${process.argv.slice(2).join(' ')}`.trim();

async function write(): Promise<void> {
  const run: RunInfo = {
    startedAt,
    finishedAt: new Date(),
    smoke,
    command,
    machine,
    quiet,
    loadAtStart,
    loadAtEnd: loadAverages(),
    brokers,
    registryUrl,
    failures,
  };
  await mkdir(join(out, '..'), { recursive: true });
  await writeFile(out, renderResults(run, sections));
}

async function measure(id: BenchmarkId, run: () => Promise<Section>): Promise<void> {
  if (!selected(id)) return;
  const loadBefore = loadAverages();
  say(`${id}: starting (load ${formatLoad(loadBefore)})`);
  try {
    const result = await run();
    result.notes.push(
      `Load average (1 / 5 / 15 min) when this benchmark started: ${formatLoad(loadBefore)}; when it ended: ` +
        `${formatLoad(loadAverages())}.`,
    );
    sections.push(result);
    for (const table of result.tables) process.stdout.write(`\n${result.title}\n${markdownTable(table)}\n`);
  } catch (error) {
    const message = (error as Error).stack ?? String(error);
    say(`${id} failed: ${message}`);
    failures.push({ id, message });
  }
  await write();
}

await measure('producer', () => benchProducer(env, { records: sizes.producerRecords, repeats: sizes.repeats }));
await measure('consumer', () =>
  benchConsumer(env, { records: sizes.consumerRecords, repeats: sizes.repeats, variants: consumerVariants }),
);
await measure('latency', () =>
  benchLatency(env, {
    ratePerSecond: sizes.latencyRate,
    seconds: sizes.latencySeconds,
    warmUpSeconds: sizes.latencyWarmUpSeconds,
  }),
);
await measure('storm', () =>
  benchStorm(env, {
    records: { blocking: sizes.stormBlockingRecords, topics: sizes.stormTopicsRecords },
    transientShare: 0.1,
    retryBaseMs: sizes.stormRetryBaseMs,
  }),
);
await measure('serde', () => benchSerde(env, { msPerCase: sizes.serdeMs }));
await measure('dlq', () =>
  benchDlqService(env, { records: sizes.dlqRecords, seconds: sizes.dlqSeconds, ratePerSecond: sizes.dlqRate }),
);
await measure('kafkajs', async () => {
  const dir = flags['kafkajs-dir'];
  if (!existsSync(join(dir, 'package.json'))) {
    const skipped = section(
      'kafkajs',
      'kafkajs 2.2.3 against 2.2.4',
      `Not measured: no kafkajs package in ${relative(REPO_ROOT, dir)}.`,
    );
    skipped.notes.push(
      'Install one with `npm install --prefix .cache/kafkajs-2.2.3 kafkajs@2.2.3`, or pass --kafkajs-dir.',
    );
    return skipped;
  }
  return benchKafkajsVersions(env, {
    otherKafkajsDir: dir,
    records: sizes.versionsRecords,
    repeats: sizes.repeats,
    idleMs: sizes.versionsIdleMs,
  });
});
await measure('librdkafka', () =>
  benchLibrdkafka(env, {
    records: sizes.librdkafkaRecords,
    repeats: sizes.repeats,
    txnRecords: sizes.librdkafkaTxnRecords,
    install: !smoke,
  }),
);
await measure('scale', () =>
  benchScale(env, {
    records: sizes.scaleRecords,
    partitions: smoke ? [3, 30] : [3, 30, 100],
    twoProcessPartitions: 30,
    timeoutMs: 10 * 60_000,
  }),
);
await measure('profile', async () => {
  // Separate runs under --cpu-prof, so that the profiler's overhead stays out of the figures above.
  const profiled: BenchEnvironment = { ...env, profile: true };
  const result = section(
    'profile',
    'Profiles',
    'The producer, the consumer, the DLQ service and the consumer in a topics-mode storm once more, each under `node ' +
      '--cpu-prof` ' +
      '(whole process: start-up included), on their own topics. ' +
      'Self time per function, highest first; "(idle)" is time the event loop waited (on the network, on the ' +
      'broker). The figures of ' +
      'these profiled runs are in the table, for reference only.',
  );
  const producer = await benchProducer(profiled, { records: sizes.profileRecords, repeats: 1 });
  const consumer = await benchConsumer(profiled, { records: sizes.profileRecords, repeats: 1, variants: [] });
  const dlq = await benchDlqService(profiled, {
    compareInMemory: false,
    // The profile's point is where the CPU goes, not the scale.
    records: Math.min(sizes.dlqRecords, 100_000),
    seconds: Math.min(10, sizes.dlqSeconds),
    ratePerSecond: sizes.dlqRate,
  });
  const storm = await benchStorm(profiled, {
    records: { blocking: sizes.stormBlockingRecords, topics: sizes.stormTopicsRecords },
    transientShare: 0.1,
    retryBaseMs: sizes.stormRetryBaseMs,
    modes: ['topics'],
  });
  for (const part of [producer, consumer, dlq, storm]) {
    result.tables.push(...part.tables);
    result.profiles.push(...part.profiles);
  }
  return result;
});

await write();
say(`wrote ${relative(REPO_ROOT, out)}; logs and profiles in ${relative(REPO_ROOT, workDir)}`);
await infra.release();
if (failures.length > 0) process.exitCode = 1;
