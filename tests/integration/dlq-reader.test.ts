// scripts/dlq-reader.ts against a lab whose consumer has dead-lettered
// invalid orders and poison values: every dead letter printed once, decoded
// where it decodes, the newest --last N oldest first, and stdout holding
// nothing but the rows.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deadLetterId, parseDeadLetterId } from '../../services/lib/dlq.ts';
import { Lab, waitUntil } from '../../scripts/harness/lab.ts';

const inputs = { count: 5, invalid: 3, poison: 2 };
const deadLetters = inputs.invalid + inputs.poison;

interface Row {
  id: string;
  failedAt: string;
  order: Record<string, unknown> | null;
  valueBase64: string | null;
  reason: string;
}

describe('scripts/dlq-reader.ts', () => {
  const lab = new Lab();
  before(async () => {
    await lab.start();
    lab.startConsumer();
    await lab.produce(inputs);
    await waitUntil(`${deadLetters} dead letters`, async () => (await lab.deadLetters()).length === deadLetters);
  });
  after(() => lab.stop());

  async function rows(args: string[]): Promise<Row[]> {
    const reader = lab.spawn('scripts/dlq-reader.ts', {}, ['--json', ...args]);
    const { code } = await reader.exited;
    assert.equal(code, 0, reader.output);
    return reader.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Row);
  }

  it('--from-beginning prints every dead letter once, a poison value as base64', { timeout: 60_000 }, async () => {
    const printed = await rows(['--from-beginning']);
    const stored = (await lab.deadLetters()).map((letter) => deadLetterId(letter.partition, letter.offset));
    assert.deepEqual(printed.map((row) => row.id).sort(), stored.sort());
    assert.equal(printed.filter((row) => row.order !== null).length, inputs.invalid, 'invalid orders decode');
    assert.ok(
      printed
        .filter((row) => row.order === null)
        .every((row) => typeof row.valueBase64 === 'string' && row.valueBase64 !== ''),
      'a value that does not decode is printed as base64',
    );
    assert.ok(
      printed.every((row) => typeof row.reason === 'string' && row.reason.trim() !== ''),
      'every row says why',
    );
  });

  it('--last 2 prints the newest two of the last two of each partition, oldest first', {
    timeout: 60_000,
  }, async () => {
    const all = await rows(['--from-beginning']);
    const byPartition = new Map<number, Row[]>();
    for (const row of all) {
      const { partition } = parseDeadLetterId(row.id)!;
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), row]);
    }
    const offset = (row: Row) => parseDeadLetterId(row.id)!.offset;
    const candidates = [...byPartition.values()].flatMap((rows) =>
      rows.sort((a, b) => offset(a) - offset(b)).slice(-2),
    );
    const expected = candidates
      .map((row) => row.failedAt)
      .sort()
      .slice(-2);
    const newest = await rows(['--last', '2']);
    // Compared by failure time: two dead letters of one transaction may share a millisecond.
    assert.deepEqual(
      newest.map((row) => row.failedAt),
      expected,
    );
  });
});
