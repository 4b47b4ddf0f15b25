#!/usr/bin/env -S npx tsx
// scenario-retry: transient failures are retried in place with exponential
// backoff (the lab's defaults: 1 s, 2 s, 4 s). Those that recover within the
// budget are counted and never dead-lettered; those that do not land in the
// DLQ after retries + 1 attempts. The gaps between attempts, read from the
// consumer's own log timestamps, follow the schedule.
import { backoffSchedule } from '../../services/lib/retry.ts';
import { expectedStats } from '../harness/lab.ts';
import { isMain, main, type Scenario } from './scenario.ts';

/** What a gap may exceed its delay by: the commit before the wait, heartbeats, the next attempt. */
const GAP_SLACK_MS = 1000;

interface AttemptLog {
  time: number;
  orderId: string;
  attempt: number;
  delayMs?: number;
}

export const retryScenario: Scenario = {
  name: 'retry',
  title:
    'transient failures recover within the retry budget or are dead-lettered after it; backoff follows the schedule',
  async run(s) {
    const config = s.consumerConfig;
    const schedule = backoffSchedule({
      baseMs: config.RETRY_BASE_MS,
      factor: config.RETRY_FACTOR,
      maxMs: config.RETRY_MAX_MS,
      jitter: 0,
      maxRetries: config.MAX_RETRIES,
    });
    const recovering = await s.lab.produce({ count: 10, transient: 3, 'fail-times': config.MAX_RETRIES - 1 });
    const exhausted = await s.lab.produce({ count: 1, transient: 2, 'fail-times': config.MAX_RETRIES + 1 });
    const consumer = s.startConsumer();
    await s.startDlqService();
    const expected = expectedStats([recovering, exhausted], config.MAX_RETRIES);
    const { deadLetters, stats } = await s.outcome({
      deadLetters: exhausted.keys.transient.length,
      orders: expected.count,
    });

    const dead = new Set(deadLetters.map((item) => item.key));
    s.equal('recovered orders are not in the DLQ', recovering.keys.transient.filter((key) => dead.has(key)).length, 0);
    s.equal('recovered orders are counted once', stats, expected, `${stats.count} orders, average ${stats.average}`);
    const exhaustedItems = deadLetters.filter(
      (item) => item.key !== null && exhausted.keys.transient.includes(item.key),
    );
    s.equal('orders past the budget are in the DLQ', exhaustedItems.length, exhausted.keys.transient.length);
    s.check(
      `... as retries-exhausted with attempts = retries + 1 = ${config.MAX_RETRIES + 1}`,
      exhaustedItems.length > 0 &&
        exhaustedItems.every(
          (item) => item.failureClass === 'retries-exhausted' && item.attempts === config.MAX_RETRIES + 1,
        ),
      exhaustedItems.map((item) => `${item.failureClass}/${item.attempts}`).join(', '),
    );

    // One log line per failed attempt, and one when the order is dead-lettered.
    const attempts = [
      ...consumer.logs(/transient failure; retrying in place/),
      ...consumer.logs(/dead-lettering order/),
    ] as unknown as AttemptLog[];
    const gaps: string[] = [];
    let delaysFollowSchedule = true;
    let gapsFollowDelays = true;
    for (const orderId of [...recovering.keys.transient, ...exhausted.keys.transient]) {
      const lines = attempts.filter((line) => line.orderId === orderId).sort((a, b) => a.attempt - b.attempt);
      for (const [i, line] of lines.entries()) {
        if (line.delayMs !== undefined && line.delayMs !== schedule[line.attempt - 1]) delaysFollowSchedule = false;
        const next = lines[i + 1];
        if (line.delayMs === undefined || next === undefined) continue;
        const gap = next.time - line.time;
        if (gap < line.delayMs || gap > line.delayMs + GAP_SLACK_MS) gapsFollowDelays = false;
        if (exhausted.keys.transient[0] === orderId) gaps.push(`${gap}`);
      }
    }
    s.check(
      `each retry waits the scheduled delay (${schedule.join(', ')} ms)`,
      delaysFollowSchedule && attempts.length > 0,
      `${attempts.length} attempt log lines`,
    );
    s.check(
      `observed gaps between attempts = delay .. delay + ${GAP_SLACK_MS} ms`,
      gapsFollowDelays && gaps.length === schedule.length,
      `one exhausted order: ${gaps.join(', ')} ms`,
    );
  },
};

if (isMain(import.meta.url)) await main([retryScenario]);
