#!/usr/bin/env -S npx tsx
// scenario-crash: while orders stream in, the consumer is killed with SIGKILL
// (no shutdown, no last commit) and started again. Every outcome is committed
// in one Kafka transaction with its offset, so the final aggregate equals the
// ground truth exactly and every bad order is in the DLQ exactly once.
import { expectedStats, waitUntil } from '../harness/lab.ts';
import { isMain, main, type Scenario } from './scenario.ts';

const inputs = { count: 400, invalid: 10, poison: 10, interval: 0.02 };
/** The kill comes once this many orders are counted: well inside the stream. */
const KILL_AT = 100;

export const crashScenario: Scenario = {
  name: 'crash',
  title: 'the consumer is killed mid-stream and restarted; the aggregate equals the ground truth',
  async run(s) {
    const victim = s.startConsumer();
    const dlq = await s.startDlqService();
    // The producer streams for ~9 s; the kill and the restart happen meanwhile.
    const producing = s.lab.produce(inputs);
    producing.catch(() => undefined); // awaited below; if the scenario fails before, stopping the lab ends it
    await waitUntil(`the aggregate to pass ${KILL_AT} orders`, async () => (await dlq.orderStats()).count >= KILL_AT);
    victim.kill('SIGKILL');
    await victim.exited;
    const atKill = (await dlq.orderStats()).count;
    s.check(
      'the consumer was killed mid-stream',
      atKill < inputs.count,
      `killed with ${atKill} of ${inputs.count} orders counted`,
    );
    s.startConsumer();

    const truth = await producing;
    const expected = expectedStats([truth], s.consumerConfig.MAX_RETRIES);
    const { deadLetters, stats } = await s.outcome({
      deadLetters: inputs.invalid + inputs.poison,
      orders: expected.count,
    });
    s.equal(
      'aggregate equals the ground truth (count, sum, average, per product)',
      stats,
      expected,
      `${stats.count} orders, average ${stats.average}`,
    );
    s.equal(
      'every bad order is in the DLQ exactly once, nothing else',
      deadLetters.map((item) => item.key).sort(),
      [...truth.keys.invalid, ...truth.keys.poison].sort(),
      `${deadLetters.length} dead letters`,
    );
  },
};

if (isMain(import.meta.url)) await main([crashScenario]);
