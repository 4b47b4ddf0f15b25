// kill -9 the consumer mid-stream, again and again: at the end the aggregate
// equals the ground truth exactly and every bad order is in the DLQ exactly
// once. First one consumer, then two in one group, killing one at a time, in
// both retry modes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GroundTruth } from '../../services/producer/producer.ts';
import { expectedStats, Lab, waitUntil, type ServiceProcess } from '../../scripts/harness/lab.ts';

const MAX_RETRIES = 3;
const settings = {
  MAX_RETRIES: String(MAX_RETRIES),
  RETRY_BASE_MS: '50',
  // Small transactions and a slow downstream: kills land between and inside commits.
  COMMIT_MAX_RECORDS: '50',
  DOWNSTREAM_LATENCY_MS: '2',
  SESSION_TIMEOUT_MS: '6000',
};
const inputs = { count: 2400, invalid: 40, poison: 40, transient: 40, 'fail-times': 1 };

async function assertExact(lab: Lab, truth: GroundTruth): Promise<void> {
  const expected = expectedStats([truth], MAX_RETRIES);
  await waitUntil('the final aggregate', () => lab.stats().count === expected.count, 20_000).catch(() => undefined);
  assert.deepEqual(lab.stats(), expected, 'aggregate equals the ground truth');

  const letters = await lab.deadLetters();
  const bad = [...truth.keys.invalid, ...truth.keys.poison].sort();
  assert.deepEqual(letters.map((l) => l.key).sort(), bad, 'every bad order dead-lettered exactly once, nothing else');
}

/** Waits until the group has counted at least `count` orders, then kills `victim` with SIGKILL. */
async function killAt(lab: Lab, victim: ServiceProcess, count: number): Promise<void> {
  await waitUntil(`the aggregate to pass ${count} orders`, () => lab.stats().count >= count, 90_000);
  victim.kill('SIGKILL');
  await victim.exited;
}

/** A lab for the enclosing suite with `inputs` produced before its tests; `truth()` is their ground truth. */
function labWithInputs(labSettings: Record<string, string>): { lab: Lab; truth: () => GroundTruth } {
  const lab = new Lab(labSettings);
  let truth: GroundTruth;
  before(async () => {
    await lab.start();
    truth = await lab.produce(inputs);
  });
  after(() => lab.stop());
  return { lab, truth: () => truth };
}

describe('crash: one consumer killed with SIGKILL three times', () => {
  const { lab, truth: truthOf } = labWithInputs(settings);

  it('ends with the exact aggregate and each bad order in the DLQ once', async () => {
    const truth = truthOf();
    const total = truth.orders.length;
    let kills = 0;
    for (const share of [0.2, 0.45, 0.7]) {
      await killAt(lab, lab.startConsumer(), Math.floor(total * share));
      kills += 1;
      assert.ok(lab.stats().count < total, 'the kill happened mid-stream');
    }
    lab.startConsumer();
    await waitUntil('the consumer to drain the orders topic', () => lab.drained(), 120_000);
    assert.equal(kills, 3);
    await assertExact(lab, truth);
    console.log(`crash: ${truth.sent} records, ${kills} kills, counted ${lab.stats().count} of ${total} expected`);
  });
});

for (const mode of ['blocking', 'topics'] as const) {
  describe(`crash: two consumers in one group, killed one at a time, RETRY_MODE=${mode}`, () => {
    const { lab, truth: truthOf } = labWithInputs({ ...settings, RETRY_MODE: mode });

    it('ends with the exact aggregate and each bad order in the DLQ once', async () => {
      const truth = truthOf();
      const total = truth.orders.length;
      let a = lab.startConsumer();
      let b = lab.startConsumer();
      await killAt(lab, a, Math.floor(total * 0.2));
      a = lab.startConsumer();
      await killAt(lab, b, Math.floor(total * 0.45));
      b = lab.startConsumer();
      await killAt(lab, a, Math.floor(total * 0.7));
      lab.startConsumer();
      await waitUntil('the group to drain the orders topic', () => lab.drained(), 120_000);
      await assertExact(lab, truth);
      console.log(
        `crash (2 consumers, ${mode}): ${truth.sent} records, 3 kills, ` +
          `counted ${lab.stats().count} of ${total} expected`,
      );
    });
  });
}
