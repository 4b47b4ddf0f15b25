// 7. Scale: how the consumer's cost grows with the partitions it holds and
// with a second process in its group. The consumer opens one transactional
// producer per input partition (kafkajs has no KIP-447, so a producer's
// transactional id must stay with its partition to fence a zombie): one per
// partition of `orders` when it joins, and in topics mode one per partition
// of a retry topic once a retry arrives there. The same orders on `orders`
// topics of 3, 30 and 100 partitions, 1 % of them failing three times in
// topics mode (so that every retry topic's partitions are used: 100
// partitions there make 400 producers), then 30 partitions drained by two
// consumer processes in one group against one.
import { readdir, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchLab, type BenchEnvironment, type BenchService } from './lab.ts';
import { formatCount, formatNumber, perSecond } from './measure.ts';
import { section, type Section } from './report.ts';

const SEED = 11;
const SAMPLE_MS = 200;
/** In topics mode, orders that fail three times pass at their fourth attempt, through all three retry topics. */
const TRANSIENT_SHARE = 0.01;
const FAIL_TIMES = 3;

export interface ScaleOptions {
  records: number;
  partitions: number[];
  /** Partitions of the run with two consumer processes against one. */
  twoProcessPartitions: number;
  timeoutMs: number;
}

interface Run {
  rate: number;
  cpuMs: number;
  peakRssMb: number;
  sockets: number;
  joinMs: number;
}

/** Open sockets of a process (its TCP connections to the broker, and its HTTP listener), from /proc. */
async function socketCount(pid: number): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith('socket:')).length;
}

/** Samples each process's resident memory and sockets until `done` resolves; the peaks, summed over processes. */
async function sampleWhile(
  children: BenchService[],
  done: Promise<unknown>,
): Promise<{ rss: number; sockets: number }> {
  const peaks = children.map(() => ({ rss: 0, sockets: 0 }));
  let finished = false;
  const stop = () => {
    finished = true;
  };
  // Handled here: a drain that fails is reported by whoever awaits `done`.
  done.then(stop, stop);
  while (!finished) {
    await Promise.all(
      children.map(async (child, i) => {
        if (child.child.exitCode !== null || child.child.pid === undefined) return;
        const peak = peaks[i]!;
        peak.rss = Math.max(peak.rss, await child.residentMb().catch(() => 0));
        peak.sockets = Math.max(peak.sockets, await socketCount(child.child.pid));
      }),
    );
    await sleep(SAMPLE_MS);
  }
  return peaks.reduce((sum, peak) => ({ rss: sum.rss + peak.rss, sockets: sum.sockets + peak.sockets }));
}

/**
 * Drains the lab's orders with `processes` consumers in one new group
 * (BenchLab.timeDrain) while sampling their memory and sockets; checks the
 * aggregate counts every order once.
 */
async function drainWith(
  lab: BenchLab,
  processes: number,
  label: string,
  env: Record<string, string>,
  options: ScaleOptions,
): Promise<Run> {
  const group = `${lab.group}-${label}`;
  const startedAt = Date.now();
  const children = await lab.startConsumers(group, processes, { label, env });
  const drained = lab.timeDrain(children, group, options.timeoutMs);
  const [{ joinedAt, allDoneAt, cpuMs }, peaks] = await Promise.all([drained, sampleWhile(children, drained)]);
  await Promise.all(children.map((child) => child.stop()));
  const counted = (await lab.aggregate(group, options.records)).count;
  if (counted !== options.records) throw new Error(`${label}: the group counted ${counted} of ${options.records}`);
  return {
    rate: perSecond(options.records, allDoneAt - joinedAt),
    cpuMs,
    peakRssMb: peaks.rss,
    sockets: peaks.sockets,
    joinMs: joinedAt - startedAt,
  };
}

function row(label: string, partitions: number, run: Run, records: number): string[] {
  return [
    label,
    String(partitions),
    formatCount(run.rate),
    `${formatNumber((run.cpuMs / records) * 1000, 1)} ms`,
    `${formatCount(run.peakRssMb)} MB`,
    String(run.sockets),
    `${formatCount(run.joinMs)} ms`,
  ];
}

export async function benchScale(env: BenchEnvironment, options: ScaleOptions): Promise<Section> {
  const result = section(
    'scale',
    '7. Scale: partitions, producers and processes',
    `${formatCount(options.records)} orders on an \`orders\` topic of ${options.partitions.join(', ')} ` +
      'partitions (retry topics and DLQ alike); the real consumer drains them in a new group, in each retry mode ' +
      `(in topics mode ${TRANSIENT_SHARE * 100} % of them fail ${FAIL_TIMES} times and pass through every retry ` +
      'topic, 20 ms apart), timed from its "joined the consumer group" log line until the group has committed the ' +
      'orders and retry topics to the end. Resident memory and open sockets are the peaks sampled every 200 ms ' +
      'from /proc while it drains (sockets: ' +
      'its TCP connections and its HTTP listener). Then two consumer processes in one group against one, on ' +
      `${options.twoProcessPartitions} partitions. Each run's aggregate is checked to count every order once.`,
  );
  const rows: string[][] = [];
  for (const partitions of options.partitions) {
    const lab = new BenchLab(env, `scale-${partitions}`, { ORDERS_PARTITIONS: String(partitions) });
    try {
      await lab.start();
      const transient = Math.ceil(options.records * TRANSIENT_SHARE);
      const produced = await lab.produceTimed(
        { count: options.records - transient, transient, 'fail-times': FAIL_TIMES, seed: SEED },
        { label: 'fill' },
      );
      if (partitions === options.partitions[0]) result.commands.push(produced.command);
      // Blocking mode ignores the fault headers (every order passes at once): it opens no retry lanes. It runs
      // first: the retry records a topics-mode run leaves in the retry topics would be read by any later group.
      const blocking = { RETRY_MODE: 'blocking', FAULT_INJECTION: 'false' };
      const one = await drainWith(lab, 1, 'blocking-1', blocking, options);
      env.say(`scale: ${partitions} partitions, blocking: ${formatCount(one.rate)} orders/s, ${one.sockets} sockets`);
      rows.push(row('RETRY_MODE=blocking, one process', partitions, one, options.records));
      if (partitions === options.twoProcessPartitions) {
        const two = await drainWith(lab, 2, 'blocking-2', blocking, options);
        env.say(`scale: ${partitions} partitions, two processes: ${formatCount(two.rate)} orders/s`);
        rows.push(row('RETRY_MODE=blocking, two processes (summed)', partitions, two, options.records));
      }
      const topics = { RETRY_MODE: 'topics', FAULT_INJECTION: 'true', RETRY_BASE_MS: '20' };
      const retried = await drainWith(lab, 1, 'topics-1', topics, options);
      env.say(
        `scale: ${partitions} partitions, topics: ${formatCount(retried.rate)} orders/s, ${retried.sockets} sockets`,
      );
      rows.push(
        row(`RETRY_MODE=topics, one process, ${TRANSIENT_SHARE * 100} % retried`, partitions, retried, options.records),
      );
    } finally {
      await lab.stop();
    }
  }
  result.tables.push({
    headers: [
      'consumer',
      'partitions',
      'orders/s',
      'CPU per 1,000 orders',
      'resident memory (peak)',
      'sockets (peak)',
      'start to joined',
    ],
    rows,
  });
  result.notes.push(
    'A lane (one transactional producer, its connection and its initTransactions) is opened for every partition ' +
      'of orders assigned, and in topics mode for every partition of a retry topic a retry arrives on: 100 ' +
      'partitions there are up to 400 producers. CPU per 1,000 orders is the whole process (start-up and opening ' +
      'the lanes included).',
  );
  return result;
}
