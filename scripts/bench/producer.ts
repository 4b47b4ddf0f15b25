// 1. Producer: the real producer (services/producer/main.ts: Avro through the
// registry, acks=all, idempotent) against Kafka's ProducerPerformance with
// the same record size, acks and idempotence, on topics with the same
// partition count.
import { Serde } from '../../services/lib/serde.ts';
import { OrderFactory } from '../../services/producer/orders.ts';
import { BenchLab, runJavaTool, type BenchEnvironment } from './lab.ts';
import { formatCount, formatNumber, formatRatio, mebibytesPerSecond } from './measure.ts';
import { summarizeProfile } from './profile.ts';
import { section, type Section } from './report.ts';

/** The producer service's records/s ÷ kafkajs alone (the same records, encoded beforehand, the same sends). */
export const PRODUCER_TARGET = 0.9;
const SEED = 42;

export interface ProducerOptions {
  records: number;
  repeats: number;
}

export interface JavaProducerFigures {
  records: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  avgLatencyMs: number;
  p99LatencyMs: number;
}

/** Mean Avro value size (wire format: magic byte, schema id, Avro) and key size of the orders the producer sends. */
export async function orderRecordSize(
  registryUrl: string,
  schemaId: number,
  sample = 10_000,
): Promise<{ valueBytes: number; keyBytes: number }> {
  const serde = new Serde(registryUrl);
  const factory = new OrderFactory(SEED);
  let valueBytes = 0;
  let keyBytes = 0;
  for (let i = 0; i < sample; i += 1) {
    const order = factory.order();
    valueBytes += (await serde.encode(schemaId, order)).length;
    keyBytes += Buffer.byteLength(order.orderId);
  }
  return { valueBytes: valueBytes / sample, keyBytes: keyBytes / sample };
}

/** The summary line ProducerPerformance prints at the end. */
export function parseProducerPerformance(stdout: string): JavaProducerFigures {
  const summary = new RegExp(
    String.raw`(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ` +
      String.raw`([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th`,
  );
  const match = summary.exec(stdout);
  if (!match) throw new Error(`ProducerPerformance printed no summary line:\n${stdout.slice(-1000)}`);
  return {
    records: Number(match[1]),
    recordsPerSecond: Number(match[2]),
    mbPerSecond: Number(match[3]),
    avgLatencyMs: Number(match[4]),
    p99LatencyMs: Number(match[8]),
  };
}

export async function runProducerPerformance(
  env: BenchEnvironment,
  topic: string,
  records: number,
  recordSize: number,
) {
  const { stdout, command } = await runJavaTool(env, 'org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    String(recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${env.brokers.join(',')}`,
    'acks=all',
    'enable.idempotence=true',
  ]);
  return { figures: parseProducerPerformance(stdout), command };
}

export async function benchProducer(env: BenchEnvironment, options: ProducerOptions): Promise<Section> {
  const result = section(
    'producer',
    '1. Producer: orders/s against ProducerPerformance',
    'The real producer (`services/producer/main.ts`, Avro values in the registry wire format, key = orderId, ' +
      'acks=all, idempotent, ' +
      'sends of 500 records as main.ts makes them) sends N random orders; its own log line gives the time from the ' +
      'first send to the last ' +
      'acknowledgement. ProducerPerformance (kafka-tools of the same release as the broker) sends N records ' +
      'of the mean Avro value size with acks=all and ' +
      'enable.idempotence=true to a topic with the same partition count. They alternate; the best run of each is ' +
      'compared.',
  );
  const lab = new BenchLab(env, 'producer');
  try {
    await lab.start();
    const { schemaId } = lab;
    const size = await orderRecordSize(env.registryUrl, schemaId);
    const recordSize = Math.round(size.valueBytes);
    const perfTopic = `${lab.prefix}-perf`;
    await lab.createTopic(perfTopic, lab.partitions);

    const ours: { rate: number; cpuMs: number }[] = [];
    const java: JavaProducerFigures[] = [];
    const floor: number[] = [];
    for (let run = 1; run <= options.repeats; run += 1) {
      env.say(
        `producer: run ${run}/${options.repeats}, ${formatCount(options.records)} orders through ` +
          `services/producer/main.ts`,
      );
      const produced = await lab.produceTimed(
        { count: options.records, seed: SEED + run },
        { label: `producer-${run}` },
      );
      ours.push({ rate: produced.ratePerSecond, cpuMs: produced.cpuMs });
      if (run === 1) result.commands.push(produced.command);
      env.say(`producer: ${formatCount(produced.ratePerSecond)} orders/s; now ProducerPerformance`);
      const perf = await runProducerPerformance(env, perfTopic, options.records, recordSize);
      java.push(perf.figures);
      if (run === 1) result.commands.push(perf.command);
      env.say(
        `producer: ProducerPerformance ${formatCount(perf.figures.recordsPerSecond)} records/s; now kafkajs alone`,
      );
      const bare = await lab.kafkajsFloor('produce', options.records, { label: `floor-${run}` });
      floor.push(bare.rate);
      if (run === 1) result.commands.push(bare.command);
      env.say(`producer: kafkajs alone ${formatCount(bare.rate)} records/s`);
      if (env.profile && run === 1) {
        const [file] = await produced.child.profiles();
        if (file)
          result.profiles.push(
            await summarizeProfile(file, 'the producer (whole process, including start-up and planning the orders)'),
          );
      }
    }
    const best = ours.reduce((a, b) => (b.rate > a.rate ? b : a));
    const bestJava = java.reduce((a, b) => (b.recordsPerSecond > a.recordsPerSecond ? b : a));
    const ratio = best.rate / bestJava.recordsPerSecond;
    const oursMb = (rate: number) => mebibytesPerSecond(rate * size.valueBytes, 1000);
    result.tables.push({
      headers: ['', 'records/s (best)', 'MB/s (values)', 'all runs, records/s', 'CPU per 1,000 records'],
      rows: [
        [
          'services/producer (kafkajs, Avro + registry)',
          formatCount(best.rate),
          formatNumber(oursMb(best.rate), 2),
          ours.map((r) => formatCount(r.rate)).join(', '),
          `${formatNumber((best.cpuMs / options.records) * 1000, 1)} ms (whole process)`,
        ],
        [
          `ProducerPerformance, --record-size ${recordSize}`,
          formatCount(bestJava.recordsPerSecond),
          formatNumber(bestJava.mbPerSecond, 2),
          java.map((r) => formatCount(r.recordsPerSecond)).join(', '),
          `avg latency ${formatNumber(bestJava.avgLatencyMs, 1)} ms, p99 ${bestJava.p99LatencyMs} ms`,
        ],
        [
          'kafkajs alone: the same records, Avro-encoded before the clock starts, the same sends',
          formatCount(Math.max(...floor)),
          formatNumber(oursMb(Math.max(...floor)), 2),
          floor.map((rate) => formatCount(rate)).join(', '),
          `${formatRatio(Math.max(...floor) / bestJava.recordsPerSecond)} of ProducerPerformance`,
        ],
        [
          'ratio: services/producer ÷ ProducerPerformance',
          formatRatio(ratio),
          formatRatio(oursMb(best.rate) / bestJava.mbPerSecond),
          '',
          '',
        ],
      ],
    });
    result.notes.push(
      `${formatCount(options.records)} records per run. An Avro order is ${formatNumber(size.valueBytes, 1)} bytes ` +
        `on average ` +
        `(wire format included) plus a ${formatNumber(size.keyBytes, 0)}-byte key; ProducerPerformance sends values ` +
        `of ${recordSize} bytes ` +
        'and no key, so per record it moves slightly less. MB/s counts value bytes as ProducerPerformance does ' +
        '(MiB/s).',
      'Our time excludes process start-up, connecting and registering the schema (the producer logs it from the ' +
        'first send); ' +
        "ProducerPerformance's includes its own warm-up. CPU per 1,000 records is the whole producer process, " +
        'planning the orders included.',
      '"kafkajs alone" sends the same kind of records, Avro-encoded before its clock starts, 500 per send, with the ' +
        "producer's client " +
        "settings: the ceiling kafkajs itself sets. kafkajs's idempotent producer keeps one produce request in " +
        'flight per broker and ' +
        'encodes records in JavaScript (murmur2 partitioning, varints with its own Long type, CRC-32C), where the ' +
        'Java client batches ' +
        'in a separate sender thread with up to five requests in flight.',
    );
    const alone = best.rate / Math.max(...floor);
    result.targets.push({
      figure: 'producer service ÷ kafkajs alone',
      target: `≥ ${PRODUCER_TARGET}`,
      measured: formatRatio(alone),
      met: alone >= PRODUCER_TARGET,
    });
    return result;
  } finally {
    await lab.stop();
  }
}
