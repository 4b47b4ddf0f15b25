// kafkajs against Confluent's @confluentinc/kafka-javascript (librdkafka behind
// a KafkaJS-compatible API), the client many TypeScript teams move to now that
// kafkajs has no releases: the same records produced (acks=all, idempotent),
// the same topic fetched and dropped, and the same consume-transform-produce
// loop in transactions that commit the input offsets (KIP-447 for the
// Confluent client). Every run is scripts/bench/kafkajs-floor.ts in its own
// process, alternating between the clients, on one broker.
import { join } from 'node:path';
import {
  CONFLUENT_PACKAGE,
  ConfluentUnavailable,
  ensureConfluentClient,
  installedConfluentClient,
  type ConfluentClient,
} from './confluent-client.ts';
import type { ClientName } from './floor-clients.ts';
import { versionOf } from './kafkajs-versions.ts';
import { BenchLab, REPO_ROOT, type BenchEnvironment, type FloorFigures } from './lab.ts';
import { formatCount, formatNumber, formatRatio, mebibytesPerSecond, perSecond, summarize } from './measure.ts';
import { section, type Section } from './report.ts';

export interface LibrdkafkaOptions {
  records: number;
  repeats: number;
  /** Records per transaction in the consume-transform-produce loop, for both clients. */
  txnRecords: number;
  /** Build the client when it is not installed (a full run); otherwise the section is skipped, saying why. */
  install: boolean;
}

/** Sends of 500 records awaited at once in the pipelined producer runs. */
const SENDS_IN_FLIGHT = 8;

/**
 * The runs of each client, in the order they are made: the consumers first, on a topic of exactly N records (see
 * benchLibrdkafka), then the producers, which append to it.
 */
const TESTS = [
  { id: 'consume', mode: 'consume', args: [] },
  { id: 'transact', mode: 'transact', args: [] },
  { id: 'produce', mode: 'produce', args: [] },
  { id: 'pipelined', mode: 'produce', args: ['--in-flight', String(SENDS_IN_FLIGHT)] },
] as const;
type Runs = Record<(typeof TESTS)[number]['id'], FloorFigures[]>;

function method(options: LibrdkafkaOptions): string {
  return (
    `kafkajs (the project's client) and ${CONFLUENT_PACKAGE} (librdkafka, through its KafkaJS-compatible API), ` +
    "each with the services' client settings, on the same broker and topics, by `scripts/bench/kafkajs-floor.ts` " +
    'in a process of its own per run, alternating between the clients. Producer: N orders Avro-encoded before the ' +
    `clock starts, sent 500 per awaited send (and again with ${SENDS_IN_FLIGHT} such sends in flight), acks=all, ` +
    'idempotent. Consumer: a fresh group fetches N records, each ' +
    'batch counted and dropped. Transactions: a fresh group reads N records and writes each to another topic (key ' +
    'and value unchanged, a header naming its source), ' +
    `${formatCount(options.txnRecords)} records per transaction, which also commits the input offsets ` +
    '(kafkajs: `sendOffsets({ consumerGroupId })`; the Confluent client: `sendOffsets({ consumer })`, KIP-447); the ' +
    "group's committed offsets are checked to cover exactly N records afterwards."
  );
}

async function clientFor(env: BenchEnvironment, options: LibrdkafkaOptions, result: Section) {
  try {
    const client = options.install ? await ensureConfluentClient(env) : await installedConfluentClient();
    if (client === undefined) {
      result.notes.push(
        'Skipped in --smoke: the Confluent client builds a native addon (about 1.5 min on 2 cores); `make bench` ' +
          'builds it into .cache and runs this section, and later smoke runs use that build.',
      );
    }
    return client;
  } catch (error) {
    if (!(error instanceof ConfluentUnavailable)) throw error;
    result.notes.push(`Not measured: ${error.message}.`);
    return undefined;
  }
}

export async function benchLibrdkafka(env: BenchEnvironment, options: LibrdkafkaOptions): Promise<Section> {
  const result = section('librdkafka', 'kafkajs against librdkafka (@confluentinc/kafka-javascript)', method(options));
  const confluent = await clientFor(env, options, result);
  if (confluent === undefined) return result;
  const kafkajsVersion = await versionOf(join(REPO_ROOT, 'node_modules/kafkajs'));
  const clients: { name: ClientName; label: string; args: string[] }[] = [
    { name: 'kafkajs', label: `kafkajs ${kafkajsVersion}`, args: [] },
    {
      name: 'confluent',
      label: `${CONFLUENT_PACKAGE} ${confluent.version} (librdkafka ${confluent.librdkafka})`,
      args: ['--client', 'confluent', '--client-dir', confluent.dir],
    },
  ];
  const runs = new Map<ClientName, Runs>(
    clients.map((c) => [c.name, { produce: [], pipelined: [], consume: [], transact: [] }]),
  );
  const lab = new BenchLab(env, 'librdkafka');
  try {
    await lab.start();
    const output = `${lab.prefix}-transformed`;
    await lab.createTopic(output, lab.partitions);
    // The consumers read a topic of exactly N records (see the first note); the producers append to it afterwards.
    const fill = await lab.floor('produce', options.records, { label: 'fill' });
    result.commands.push(fill.command);
    for (const test of TESTS) {
      for (let run = 1; run <= options.repeats; run += 1) {
        for (const client of clients) {
          const group = `${lab.group}-${client.name}-${test.id}-${run}`;
          const transact =
            test.mode === 'transact' ? ['--to', output, '--txn-records', String(options.txnRecords)] : [];
          const { figures, command } = await lab.floor(test.mode, options.records, {
            label: `${client.name}-${test.id}-${run}`,
            group: test.mode === 'produce' ? undefined : group,
            args: [...client.args, ...test.args, ...transact],
          });
          if (test.mode === 'transact') await checkCommitted(lab, group, options.records);
          runs.get(client.name)![test.id].push(figures);
          if (run === 1) result.commands.push(command);
          env.say(
            `librdkafka: ${client.name} ${test.id} ${formatCount(perSecond(figures.records, figures.ms))} records/s`,
          );
        }
      }
    }
    result.tables.push(table(clients, runs));
    notes(result, options, confluent);
    return result;
  } finally {
    await lab.stop();
  }
}

/** The transactions committed the input offsets of exactly the records they wrote. */
async function checkCommitted(lab: BenchLab, group: string, records: number): Promise<void> {
  const [entry] = await lab.admin.fetchOffsets({ groupId: group, topics: [lab.topics.orders] });
  const committed = (entry?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  if (committed !== records)
    throw new Error(`group ${group} committed offsets covering ${committed} records, not the ${records} it copied`);
}

function table(clients: { name: ClientName; label: string }[], runs: Map<ClientName, Runs>) {
  const rate = (f: FloorFigures) => perSecond(f.records, f.ms);
  const best = (figures: FloorFigures[]) => figures.reduce((a, b) => (rate(b) > rate(a) ? b : a));
  const cpuPerThousand = (figures: FloorFigures[]) => summarize(figures.map((f) => (f.cpuMs / f.records) * 1000)).mean;
  const rows: { figure: string; value: (r: Runs) => number; digits?: number; all?: (r: Runs) => FloorFigures[] }[] = [
    { figure: 'producer records/s (best; all runs)', value: (r) => rate(best(r.produce)), all: (r) => r.produce },
    {
      figure: 'producer MB/s (values, best run)',
      value: (r) => mebibytesPerSecond(best(r.produce).valueBytes ?? Number.NaN, best(r.produce).ms),
      digits: 2,
    },
    { figure: 'producer CPU ms per 1,000 records (mean)', value: (r) => cpuPerThousand(r.produce), digits: 1 },
    {
      figure: `producer, ${SENDS_IN_FLIGHT} sends in flight: records/s (best; all runs)`,
      value: (r) => rate(best(r.pipelined)),
      all: (r) => r.pipelined,
    },
    {
      figure: `producer, ${SENDS_IN_FLIGHT} sends in flight: CPU ms per 1,000 records (mean)`,
      value: (r) => cpuPerThousand(r.pipelined),
      digits: 1,
    },
    { figure: 'consumer records/s (best; all runs)', value: (r) => rate(best(r.consume)), all: (r) => r.consume },
    { figure: 'consumer CPU ms per 1,000 records (mean)', value: (r) => cpuPerThousand(r.consume), digits: 1 },
    {
      figure: 'consume-transform-produce records/s (best; all runs)',
      value: (r) => rate(best(r.transact)),
      all: (r) => r.transact,
    },
    {
      figure: 'transactions/s (best run)',
      value: (r) => perSecond(best(r.transact).transactions ?? Number.NaN, best(r.transact).ms),
      digits: 1,
    },
    {
      figure: 'consume-transform-produce CPU ms per 1,000 records (mean)',
      value: (r) => cpuPerThousand(r.transact),
      digits: 1,
    },
  ];
  const [kafkajs, confluent] = clients.map((c) => runs.get(c.name)!);
  const cell = (r: Runs, row: (typeof rows)[number]) => {
    const shown = row.digits === undefined ? formatCount(row.value(r)) : formatNumber(row.value(r), row.digits);
    const all = row.all?.(r).map((f) => formatCount(rate(f)));
    return all && all.length > 1 ? `${shown} (${all.join(', ')})` : shown;
  };
  return {
    headers: ['', ...clients.map((c) => c.label), 'Confluent ÷ kafkajs'],
    rows: rows.map((row) => [
      row.figure,
      cell(kafkajs!, row),
      cell(confluent!, row),
      formatRatio(row.value(confluent!) / row.value(kafkajs!)),
    ]),
  };
}

function notes(result: Section, options: LibrdkafkaOptions, confluent: ConfluentClient): void {
  result.notes.push(
    `${formatCount(options.records)} records per run, ${options.repeats} run(s) per client and test; the consumers ` +
      'read a topic holding exactly those records (librdkafka fetches far ahead, so records beyond them would cost ' +
      'it work that reading to the end never does). Producers are timed from the first send to the last ' +
      'acknowledgement, consumers from joining the group (kafkajs: its GROUP_JOIN event; the Confluent client: its ' +
      'rebalance callback with the partitions assigned) to the last record or commit: connecting is left out for ' +
      "both. CPU is the process's user + system time over the same interval (`process.cpuUsage()`, every thread, " +
      "librdkafka's included).",
    'Settings: producers idempotent, acks=all, up to 5 requests in flight; transactional producers one, like the ' +
      "consumer service's lanes; kafkajs retries a refused transaction start after 5 ms as " +
      'services/consumer/lane.ts does (librdkafka retries it itself). Consumers long-poll for 250 ms; kafkajs hands ' +
      "eachBatch a fetch's whole batch, the Confluent client at most 32 records (`js.consumer.max.batch.size`). " +
      "Everything else is each client's default, e.g. librdkafka's linger.ms of 5 ms. Both put a keyed record on " +
      'the same partition (murmur2).',
    'Reading the figures: one awaited send at a time is how services/producer sends, and it leaves librdkafka ' +
      "waiting for its linger and each acknowledgement; with several sends in flight (its guide's advice) its " +
      "sender thread batches across them. The Confluent consumer's main thread, profiled, is mostly in native code " +
      'and garbage collection (the binding hands each message over as a JavaScript object), little in fetching or ' +
      'its JavaScript. A transaction costs the same sequential requests whatever its size (AddPartitionsToTxn, ' +
      'Produce, AddOffsetsToTxn, TxnOffsetCommit, EndTxn), so its records/s grow with --librdkafka-txn-records.',
    `The Confluent client is a benchmark-only dependency, built from source into .cache/ against Debian's ` +
      'libraries (no prebuilt binary can be downloaded here): ' +
      (confluent.installSeconds === undefined
        ? 'it was already built before this run.'
        : `built in ${formatNumber(confluent.installSeconds, 0)} s in this run.`) +
      ' The install commands are the first below.',
  );
  result.commands.unshift(...confluent.commands);
}
