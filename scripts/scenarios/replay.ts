#!/usr/bin/env -S npx tsx
// scenario-replay: orders that failed transiently past the retry budget are
// dead-lettered; once the fault is cleared they are replayed through the API
// (a dry run first, then for real) and end up counted exactly once. A second
// replay of the same record is refused and publishes nothing. In the lab a
// replayed record carries x-replay-count, which turns the injected fault off:
// "the downstream has been fixed".
import { isDeepStrictEqual } from 'node:util';
import { expectedStats } from '../harness/lab.ts';
import { HttpError } from './dlq-api.ts';
import { isMain, main, type Scenario } from './scenario.ts';

export const replayScenario: Scenario = {
  name: 'replay',
  title: 'dead-lettered transient failures, replayed through the API, are counted once',
  async run(s) {
    const maxRetries = s.consumerConfig.MAX_RETRIES;
    const truth = await s.lab.produce({ count: 20, transient: 3, 'fail-times': maxRetries + 1 });
    s.startConsumer();
    const dlq = await s.startDlqService();
    const before = await s.outcome({ deadLetters: truth.keys.transient.length, orders: truth.keys.valid.length });
    s.equal(
      'the failing orders are dead-lettered',
      before.deadLetters.map((item) => item.key).sort(),
      [...truth.keys.transient].sort(),
      `${truth.keys.transient.length} orders`,
    );
    s.equal('and not counted', before.stats.count, truth.keys.valid.length);

    const filter = { failureClass: 'retries-exhausted' };
    const dryRun = await dlq.replayMatching(filter, { dryRun: true });
    s.check(
      'a dry run names what would be replayed, with the reasons, and replays nothing',
      dryRun.replayed === truth.keys.transient.length &&
        dryRun.reasons.length > 0 &&
        (await dlq.total({ replayed: true })) === 0,
      `would replay ${dryRun.replayed}: ${dryRun.reasons.map(({ reason, count }) => `${count}x ${reason}`).join('; ')}`,
    );
    const replay = await dlq.replayMatching(filter);
    s.check(
      'POST /dlq/replay replays them',
      replay.replayed === truth.keys.transient.length &&
        (await dlq.total({ replayed: true })) === truth.keys.transient.length,
      `replayed ${replay.ids.join(', ')}`,
    );

    // All orders, the replayed ones included, each counted once.
    const expected = expectedStats([{ ...truth, failTimes: 0 }], maxRetries);
    const after = await s.outcome({ deadLetters: truth.keys.transient.length, orders: expected.count });
    s.equal(
      'replayed orders are counted exactly once',
      after.stats,
      expected,
      `${after.stats.count} orders, average ${after.stats.average}`,
    );
    s.equal('nothing new in the DLQ', after.deadLetters.length, truth.keys.transient.length);

    const [first] = after.deadLetters;
    const endsBefore = await s.lab.admin.fetchTopicOffsets(s.lab.topics.orders);
    const again = await dlq.replay(first!.id).then(
      (answer) => ({ status: 200, text: JSON.stringify(answer) }),
      (error: Error) => ({ status: error instanceof HttpError ? error.status : 0, text: error.message }),
    );
    const endsAfter = await s.lab.admin.fetchTopicOffsets(s.lab.topics.orders);
    s.check(
      'replaying the same record again is refused (409) and publishes nothing',
      again.status === 409 && isDeepStrictEqual(endsAfter, endsBefore),
      again.text.slice(0, 200),
    );
  },
};

if (isMain(import.meta.url)) await main([replayScenario]);
