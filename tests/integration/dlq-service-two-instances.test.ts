// Two DLQ service instances on one DLQ (each with its own archive), replaying
// the same dead letters at the same moment, against the real broker: every
// dead letter is replayed exactly once. They share the replayer's
// transactional id, so the one that starts its producer last fences the
// other, and each reads the replay state to its end after that: the other's
// replays are seen, its late commits refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../scripts/harness/lab.ts';
import { DlqService, writeDeadLetters } from './dlq-service-app.ts';

const ROUNDS = 12;

describe('two DLQ service instances replaying concurrently', () => {
  const lab = new Lab();
  let first: DlqService;
  let second: DlqService;
  let ids: string[];

  before(async () => {
    await lab.start();
    ids = await writeDeadLetters(
      lab,
      Array.from({ length: ROUNDS }, (_, n) => ({
        partition: n % 3,
        key: `order-${n}`,
        order: { orderId: `order-${n}`, product: 'mouse', price: -1 - n },
        context: { failureClass: 'retries-exhausted' as const, error: new Error('downstream timed out') },
      })),
    );
    first = await DlqService.start(lab);
    second = await DlqService.start(lab, { DLQ_DB_PATH: `${lab.dlqArchive}.second` });
  });

  after(async () => {
    await first?.close();
    await second?.close();
    await lab.stop();
  });

  it('replays each dead letter once, whichever instance wins', async () => {
    const outcomes: number[][] = [];
    for (const id of ids) {
      const answers = await Promise.all([first.post(`/dlq/${id}/replay`), second.post(`/dlq/${id}/replay`)]);
      outcomes.push(answers.map(({ status }) => status));
      const winners = answers.filter(({ status }) => status === 200);
      assert.equal(winners.length, 1, `${id}: ${JSON.stringify(answers.map(({ body }) => body))}`);
      const [loser] = answers.filter(({ status }) => status !== 200);
      // Refused (it saw the other's replay), or nothing written (fenced): never a second replay.
      assert.ok(
        ['ALREADY_REPLAYED', 'KAFKA_UNAVAILABLE'].includes(loser!.body.code),
        `${id}: ${JSON.stringify(loser!.body)}`,
      );
    }
    const replayed = (await lab.readAll(lab.topics.orders)).map(({ message }) => message.key?.toString()).sort();
    assert.deepEqual(
      replayed,
      Array.from({ length: ROUNDS }, (_, n) => `order-${n}`).sort(),
      `each once (statuses per round: ${JSON.stringify(outcomes)})`,
    );
  });
});
