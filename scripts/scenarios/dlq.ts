#!/usr/bin/env -S npx tsx
// scenario-dlq: orders that can never be processed (invalid ones and poison
// pills) are dead-lettered at once with the reason; valid orders never are,
// and the running average is exactly the valid orders' average.
import { expectedStats } from '../harness/lab.ts';
import { isMain, main, type Scenario } from './scenario.ts';

const inputs = { count: 40, invalid: 6, poison: 6 };

export const dlqScenario: Scenario = {
  name: 'dlq',
  title: 'invalid orders and poison pills are dead-lettered with their reason; the average is right',
  async run(s) {
    const truth = await s.lab.produce(inputs);
    s.startConsumer();
    await s.startDlqService();
    const expected = expectedStats([truth], s.consumerConfig.MAX_RETRIES);
    const { deadLetters, stats } = await s.outcome({
      deadLetters: inputs.invalid + inputs.poison,
      orders: expected.count,
    });

    const byKey = new Map(deadLetters.map((item) => [item.key, item]));
    const invalid = truth.keys.invalid.map((key) => byKey.get(key));
    const poison = truth.keys.poison.map((key) => byKey.get(key));
    s.equal(
      'DLQ holds exactly the invalid orders and poison pills',
      deadLetters.length,
      inputs.invalid + inputs.poison,
    );
    s.check(
      'invalid orders: class invalid, 1 attempt, the broken rule as reason',
      invalid.every(
        (item) =>
          item?.failureClass === 'invalid' &&
          item.attempts === 1 &&
          /is empty|is not a finite number|is not positive/.test(item.message ?? ''),
      ),
      [...new Set(invalid.map((item) => item?.reason ?? 'missing'))].join('; '),
    );
    s.check(
      'poison pills: class undecodable, 1 attempt, why the bytes do not decode',
      poison.every(
        (item) =>
          item?.failureClass === 'undecodable' &&
          item.attempts === 1 &&
          /magic byte|not known to the registry|does not match schema/.test(item.message ?? ''),
      ),
      [...new Set(poison.map((item) => item?.reason ?? 'missing'))].join('; '),
    );
    const valid = new Set(truth.keys.valid);
    s.equal(
      'no valid order is in the DLQ',
      deadLetters.filter((item) => item.key !== null && valid.has(item.key)).length,
      0,
    );
    s.equal(
      'GET /dlq?failureClass=undecodable finds the poison pills',
      await s.dlq.total({ failureClass: 'undecodable' }),
      inputs.poison,
    );
    s.equal('orders counted = valid orders sent', stats.count, inputs.count);
    s.equal("average = the valid orders' average (exact, in cents)", stats.average, expected.average);
    s.equal(
      'per-product counts and sums match',
      stats.products,
      expected.products,
      `${Object.keys(stats.products).length} products`,
    );
  },
};

if (isMain(import.meta.url)) await main([dlqScenario]);
