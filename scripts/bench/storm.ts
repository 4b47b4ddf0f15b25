// 4. Failure storm: a share of the orders fail once (transiently) and pass on
// their first retry. How fast do the healthy orders still get through, in
// blocking mode (retries in place) and topics mode (retry topics), compared
// with a clean run of the same size and settings?
import { BenchLab, type BenchEnvironment } from './lab.ts';
import { formatCount, formatNumber, formatRatio, perSecond } from './measure.ts';
import { summarizeProfile, type ProfileSummary } from './profile.ts';
import { section, type Section } from './report.ts';

export const STORM_TARGET = 0.8;
const MODES = ['blocking', 'topics'] as const;

export interface StormOptions {
  /** Orders per run, by mode: a blocking storm costs about failures × backoff ÷ partitions, whatever the total. */
  records: Record<(typeof MODES)[number], number>;
  /** Share of the records that fail once: 0.1 = 10 %. */
  transientShare: number;
  retryBaseMs: number;
  /** Which modes to run (default both). */
  modes?: (typeof MODES)[number][];
}

interface StormRun {
  mode: (typeof MODES)[number];
  storm: boolean;
  healthy: number;
  /** Healthy orders per second: healthy orders ÷ time until the orders topic was committed to its end. */
  healthyRate: number;
  /** All orders ÷ time until the retry topics were committed too. */
  allRate: number;
  command: string;
  profile: ProfileSummary | undefined;
}

async function runScenario(
  env: BenchEnvironment,
  options: StormOptions,
  mode: StormRun['mode'],
  storm: boolean,
): Promise<StormRun> {
  const records = options.records[mode];
  const settings = {
    FAULT_INJECTION: 'true',
    RETRY_MODE: mode,
    RETRY_BASE_MS: String(options.retryBaseMs),
    MAX_RETRIES: '3',
  };
  const lab = new BenchLab(env, `storm-${mode}-${storm ? 'storm' : 'clean'}`, settings);
  try {
    await lab.start();
    const transient = storm ? Math.round(records * options.transientShare) : 0;
    const healthy = records - transient;
    await lab.produceTimed({ count: healthy, transient, 'fail-times': 1, seed: 5 }, { label: 'fill' });
    env.say(
      `storm: ${mode}, ${storm ? `${formatCount(transient)} of ${formatCount(records)} orders failing once` : 'clean'}`,
    );
    const drained = await lab.runPipeline(records, { label: 'consumer', timeoutMs: 60 * 60_000 });
    const profile =
      env.profile && drained.profile
        ? await summarizeProfile(drained.profile, `the consumer, ${mode} mode, ${storm ? 'storm' : 'clean'} run`)
        : undefined;
    const run = {
      mode,
      storm,
      healthy,
      healthyRate: perSecond(healthy, drained.ordersDoneAt - drained.joinedAt),
      allRate: perSecond(records, drained.allDoneAt - drained.joinedAt),
      command: drained.child.command,
      profile,
    };
    env.say(`storm: ${mode} ${storm ? 'storm' : 'clean'}: ${formatCount(run.healthyRate)} healthy orders/s`);
    return run;
  } finally {
    await lab.stop();
  }
}

export async function benchStorm(env: BenchEnvironment, options: StormOptions): Promise<Section> {
  const percent = formatNumber(options.transientShare * 100, 0);
  const result = section(
    'storm',
    `4. Failure storm: ${percent} % transient failures`,
    `N orders are produced; in a storm run ${percent} % of them carry the fault header that makes the consumer's ` +
      `downstream step fail on the ` +
      `first attempt and pass on the first retry (FAULT_INJECTION=true, RETRY_BASE_MS=${options.retryBaseMs}, ` +
      `MAX_RETRIES=3). ` +
      'The real consumer drains them in a fresh group. Healthy-order throughput = healthy orders ÷ time from joining ' +
      'the group until the ' +
      'orders topic is committed to its end (in topics mode the failed orders are then on their retry topic; in ' +
      'blocking mode they are ' +
      'done). Each mode is compared with a clean run (no failing orders) of the same size and settings. After every ' +
      'run the aggregate is ' +
      'checked to count all N orders and the DLQ to be empty.',
  );
  const modes = options.modes ?? MODES;
  const runs: StormRun[] = [];
  for (const mode of modes) {
    runs.push(await runScenario(env, options, mode, false));
    runs.push(await runScenario(env, options, mode, true));
  }
  for (const run of runs) if (run.profile) result.profiles.push(run.profile);
  const rows: (string | number)[][] = [];
  for (const mode of modes) {
    const clean = runs.find((r) => r.mode === mode && !r.storm)!;
    const storm = runs.find((r) => r.mode === mode && r.storm)!;
    const ratio = storm.healthyRate / clean.healthyRate;
    rows.push([
      `RETRY_MODE=${mode}`,
      formatCount(options.records[mode]),
      formatCount(clean.healthyRate),
      formatCount(storm.healthyRate),
      formatRatio(ratio),
      formatCount(storm.allRate),
    ]);
    result.commands.push(clean.command, storm.command);
    if (mode === 'topics') {
      result.targets.push({
        figure: 'topics-mode storm ÷ clean',
        target: `≥ ${STORM_TARGET}`,
        measured: formatRatio(ratio),
        met: ratio >= STORM_TARGET,
      });
    } else {
      result.targets.push({
        figure: 'blocking mode: healthy orders/s during the storm ÷ clean run',
        target: '(none; for comparison)',
        measured: formatRatio(ratio),
        met: undefined,
      });
    }
  }
  result.tables.push({
    headers: [
      '',
      'orders per run',
      'clean: orders/s',
      'storm: healthy orders/s',
      'ratio',
      'storm: all orders/s incl. retries',
    ],
    rows,
  });
  result.notes.push(
    `In a storm run ${percent} % of the orders fail once. In blocking mode each failure holds its partition for the ` +
      `backoff ` +
      `(${options.retryBaseMs} ms here; 1 s by default, which makes blocking mode 10× slower still), so a blocking ` +
      `run costs about ` +
      'failures × backoff whatever its size, and uses fewer orders; in topics mode a failure costs a record on the ' +
      'retry topic in the ' +
      "same transaction, and the run is large enough that start-up costs (opening the retry topics' transactional " +
      'producers) do not ' +
      'weigh on the ratio.',
    'Blocking mode pays more than the backoff per failure: while every partition of the consumer is paused, kafkajs ' +
      'sleeps ' +
      'maxWaitTimeInMs (250 ms) before it fetches again, and a resumed partition waits for the long-poll fetch in ' +
      'progress on the others.',
    'Topics mode: a failed order costs an error with its stack trace, a log line, and a retry record with eight ' +
      'headers that is ' +
      'produced in the transaction and fetched and decoded again, several times the CPU of a healthy order. Draining ' +
      'a backlog, the ' +
      "consumer is CPU-bound (one Node thread), so that work comes out of the healthy orders' throughput; see the " +
      'profiles of the ' +
      'clean and storm runs under Profiles.',
  );
  return result;
}
