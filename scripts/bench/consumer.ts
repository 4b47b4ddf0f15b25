// 2. Consumer pipeline: the real consumer (services/consumer/main.ts: fetch,
// decode through the registry, validate, process, aggregate, commit in
// Kafka transactions) against Kafka's ConsumerPerformance on the same topic.
import { serviceSpecs } from '../../services/lib/config.ts';
import { BenchLab, runJavaTool, type BenchEnvironment, type PipelineRun } from './lab.ts';
import { formatCount, formatNumber, formatRatio } from './measure.ts';
import { summarizeProfile } from './profile.ts';
import { section, type Section } from './report.ts';

/** The consumer service's records/s ÷ kafkajs alone (fetch and drop, the same settings). */
export const CONSUMER_TARGET = 0.5;
/** CPU of the whole consumer process per 1,000 orders, ms. */
export const CONSUMER_CPU_TARGET_MS = 3;
const SEED = 7;

export interface ConsumerOptions {
  records: number;
  repeats: number;
  /** Extra consumer settings measured besides the defaults, e.g. { COMMIT_MAX_RECORDS: '5000' }. */
  variants: Record<string, string>[];
}

export interface JavaConsumerFigures {
  records: number;
  /** Records/s over the whole run, group join included. */
  recordsPerSecond: number;
  /** Records/s while fetching (join excluded): what is compared. */
  fetchRecordsPerSecond: number;
  rebalanceMs: number;
}

export function parseConsumerPerformance(stdout: string): JavaConsumerFigures {
  const lines = stdout.split('\n').map((line) => line.trim());
  const header = lines.findIndex((line) => line.startsWith('start.time'));
  const values = lines[header + 1]?.split(',').map((cell) => cell.trim());
  const names = lines[header]?.split(',').map((cell) => cell.trim());
  if (header < 0 || values === undefined || names === undefined)
    throw new Error(`ConsumerPerformance printed no figures:\n${stdout.slice(-1000)}`);
  const field = (name: string) => Number(values[names.indexOf(name)]);
  return {
    records: field('data.consumed.in.nMsg'),
    recordsPerSecond: field('nMsg.sec'),
    fetchRecordsPerSecond: field('fetch.nMsg.sec'),
    rebalanceMs: field('rebalance.time.ms'),
  };
}

export async function runConsumerPerformance(env: BenchEnvironment, topic: string, records: number) {
  const { stdout, command } = await runJavaTool(env, 'org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    env.brokers.join(','),
    '--topic',
    topic,
    '--messages',
    String(records),
    '--timeout',
    '60000',
  ]);
  return { figures: parseConsumerPerformance(stdout), command };
}

export async function benchConsumer(env: BenchEnvironment, options: ConsumerOptions): Promise<Section> {
  const result = section(
    'consumer',
    '2. Consumer pipeline: orders/s against ConsumerPerformance',
    'N valid orders are produced once. ConsumerPerformance (kafka-tools of the same release as the broker) ' +
      'reads them (its fetch rate, group join excluded), then the real ' +
      'consumer (`services/consumer/main.ts`, default settings, a fresh group each run) decodes, validates, ' +
      'processes, aggregates and commits ' +
      'them in Kafka transactions; it is timed from its "joined the consumer group" log line until the group has ' +
      'committed every partition ' +
      'to the end (committed offsets polled every 50 ms). After each run the aggregate is checked to count all N ' +
      'orders and the DLQ to be empty.',
  );
  const lab = new BenchLab(env, 'consumer');
  try {
    await lab.start();
    env.say(`consumer: producing ${formatCount(options.records)} orders`);
    const produced = await lab.produceTimed({ count: options.records, seed: SEED }, { label: 'fill' });
    result.commands.push(produced.command);

    const variants = [{}, ...options.variants];
    const ours = variants.map(() => [] as PipelineRun[]);
    const java: JavaConsumerFigures[] = [];
    const floor: number[] = [];
    for (let run = 1; run <= options.repeats; run += 1) {
      env.say(`consumer: run ${run}/${options.repeats}, ConsumerPerformance`);
      const perf = await runConsumerPerformance(env, lab.topics.orders, options.records);
      java.push(perf.figures);
      if (run === 1) result.commands.push(perf.command);
      env.say(
        `consumer: ConsumerPerformance ${formatCount(perf.figures.fetchRecordsPerSecond)} records/s; now kafkajs alone`,
      );
      const bare = await lab.kafkajsFloor('consume', options.records, {
        label: `floor-${run}`,
        group: `${lab.group}-floor-${run}`,
      });
      floor.push(bare.rate);
      if (run === 1) result.commands.push(bare.command);
      env.say(`consumer: kafkajs alone ${formatCount(bare.rate)} records/s`);
      for (const [index, variant] of variants.entries()) {
        const label = `run${run}-v${index}`;
        const pipeline = await lab.runPipeline(options.records, { label, env: variant });
        ours[index]!.push(pipeline);
        if (run === 1) result.commands.push(pipeline.child.command);
        env.say(`consumer: services/consumer ${describe(variant)} ${formatCount(pipeline.rate)} orders/s`);
        if (env.profile && run === 1 && pipeline.profile) {
          result.profiles.push(
            await summarizeProfile(
              pipeline.profile,
              `the consumer ${describe(variant)} (whole process, start-up included)`,
            ),
          );
        }
      }
    }
    const bestJava = java.reduce((a, b) => (b.fetchRecordsPerSecond > a.fetchRecordsPerSecond ? b : a));
    const bests = ours.map((runs) => runs.reduce((a, b) => (b.rate > a.rate ? b : a)));
    result.tables.push({
      headers: ['', 'records/s (best)', 'ratio to ConsumerPerformance', 'all runs, records/s', 'CPU per 1,000 records'],
      rows: [
        ...variants.map((variant, index) => [
          `services/consumer ${describe(variant)}`,
          formatCount(bests[index]!.rate),
          formatRatio(bests[index]!.rate / bestJava.fetchRecordsPerSecond),
          ours[index]!.map((r) => formatCount(r.rate)).join(', '),
          `${formatNumber((bests[index]!.cpuMs / options.records) * 1000, 1)} ms (whole process)`,
        ]),
        [
          'kafkajs alone: the same topic and fetch settings, each batch counted and dropped',
          formatCount(Math.max(...floor)),
          formatRatio(Math.max(...floor) / bestJava.fetchRecordsPerSecond),
          floor.map((rate) => formatCount(rate)).join(', '),
          '',
        ],
        [
          'ConsumerPerformance (fetch.nMsg.sec)',
          formatCount(bestJava.fetchRecordsPerSecond),
          '1.00',
          java.map((r) => formatCount(r.fetchRecordsPerSecond)).join(', '),
          `with group join: ${formatCount(bestJava.recordsPerSecond)}/s`,
        ],
      ],
    });
    result.notes.push(
      `${formatCount(options.records)} orders on ${lab.topics.orders.replace(lab.prefix, '<prefix>')} ` +
        `(${lab.partitions} partitions). ConsumerPerformance only ` +
        'counts records and bytes (read_uncommitted, no decoding, no commits in transactions); the pipeline does all ' +
        'of the work of the service. ' +
        '"kafkajs alone" is a kafkajs consumer with the service\'s fetch settings whose eachBatch only counts: what ' +
        'kafkajs itself costs, ' +
        "so the rest of the gap is the pipeline's per-record work and its transactions (see the profile).",
    );
    if (options.variants.some((variant) => 'COMMIT_MAX_RECORDS' in variant)) {
      result.notes.push(
        'COMMIT_MAX_RECORDS is the most records one transaction covers ' +
          `(default ${serviceSpecs.consumer.COMMIT_MAX_RECORDS.default}). A commit costs the same five ` +
          'sequential requests ' +
          'whatever its size (AddPartitionsToTxn, Produce of the order-stats record, AddOffsetsToTxn, ' +
          'TxnOffsetCommit, EndTxn), so larger ' +
          'transactions make fewer of them. A transaction also ends at COMMIT_MAX_BYTES of dead letters and retry ' +
          'records (512 KiB), so ' +
          "that a partition's dead letters never outgrow the broker's message.max.bytes in one record batch.",
      );
    }
    const alone = bests[0]!.rate / Math.max(...floor);
    const cpuMs = (bests[0]!.cpuMs / options.records) * 1000;
    result.targets.push(
      {
        figure: 'consumer service ÷ kafkajs alone',
        target: `≥ ${CONSUMER_TARGET}`,
        measured: formatRatio(alone),
        met: alone >= CONSUMER_TARGET,
      },
      {
        figure: 'consumer CPU per 1,000 orders (whole process)',
        target: `≤ ${CONSUMER_CPU_TARGET_MS} ms`,
        measured: `${formatNumber(cpuMs, 1)} ms`,
        met: cpuMs <= CONSUMER_CPU_TARGET_MS,
      },
    );
    return result;
  } finally {
    await lab.stop();
  }
}

function describe(variant: Record<string, string>): string {
  const entries = Object.entries(variant);
  return entries.length === 0 ? '(defaults)' : `(${entries.map(([name, value]) => `${name}=${value}`).join(', ')})`;
}
