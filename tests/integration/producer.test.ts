// The real producer entrypoint against the real broker: endless mode streams
// until SIGTERM, exits 0, and runs in a fixed heap however many records it has
// sent (it once kept every record for a ground truth it never printed).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../scripts/harness/free-port.ts';
import { Lab, waitUntil, type ServiceProcess } from '../../scripts/harness/lab.ts';

const ENTRYPOINT = 'services/producer/main.ts';
/** The producer's old-space limit: well above what it needs to stream (about 25 MB)... */
const HEAP_MB = 48;
/** ...and well below what keeping every record sent would take (some 170 bytes each: 65 MB). */
const RECORDS = 400_000;

/** Records the producer has had acknowledged, from its /metrics. */
async function produced(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('orders_produced_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/** What the producer said when it refused to start. */
async function refusal(producer: ServiceProcess): Promise<string> {
  const { code } = await producer.exited;
  assert.equal(code, 1, producer.output);
  const [fatal] = producer.logs(/^Invalid configuration/);
  assert.ok(fatal, `no configuration error in:\n${producer.output}`);
  return String(fatal.msg);
}

/**
 * Runs the producer in a HEAP_MB heap until it has had `records` acknowledged, stops it with SIGTERM, checks
 * that it exited 0 and returns its closing log line.
 */
async function streamThenStop(lab: Lab, args: string[], records: number): Promise<Record<string, unknown>> {
  const port = await freePort();
  const env = { HTTP_PORT: String(port), NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` };
  const producer = lab.spawn(ENTRYPOINT, env, ['--interval', '0', ...args]);
  let died: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void producer.exited.then((exit) => (died = exit));
  const enough = async () => died !== undefined || (await produced(port)) >= records;
  await waitUntil(`${records} records sent`, enough, 240_000);
  assert.equal(died, undefined, `the producer died in a ${HEAP_MB} MB heap:\n${producer.output.slice(-2000)}`);

  producer.kill('SIGTERM');
  const { code } = await producer.exited;
  assert.equal(code, 0, producer.output.slice(-2000));
  const [done] = producer.logs(/^done$/);
  assert.ok(done, `no closing log line in:\n${producer.output.slice(-2000)}`);
  // kafkajs's request queue used to schedule a negative timeout (services/lib/patches).
  assert.doesNotMatch(producer.output, /TimeoutNegativeWarning/);
  return done;
}

describe('producer', () => {
  const lab = new Lab();
  before(() => lab.start());
  after(() => lab.stop());

  it('endless: streams until SIGTERM, exits 0, its heap flat whatever it sent', { timeout: 300_000 }, async () => {
    const done = await streamThenStop(lab, ['--count', '0'], RECORDS);
    assert.ok(Number(done.sent) >= RECORDS, `sent ${String(done.sent)}`);
    assert.equal(done.errors, 0);
  });

  it('a huge --count starts sending at once, in the same small heap', { timeout: 120_000 }, async () => {
    const done = await streamThenStop(lab, ['--count', '100000000'], 10_000);
    assert.ok(Number(done.sent) >= 10_000, `sent ${String(done.sent)}`);
    assert.equal(done.errors, 0);
  });

  it('refuses --json in endless mode: that ground truth would never be printed', { timeout: 30_000 }, async () => {
    const message = await refusal(lab.spawn(ENTRYPOINT, {}, ['--count', '0', '--json']));
    assert.match(message, /PRODUCER_JSON/);
    assert.match(message, /PRODUCER_COUNT=0/);
  });

  it('refuses --json for more records than its ground truth can hold', { timeout: 30_000 }, async () => {
    const message = await refusal(lab.spawn(ENTRYPOINT, {}, ['--count', '100000000', '--json']));
    assert.match(message, /PRODUCER_COUNT/);
    assert.match(message, /PRODUCER_JSON/);
  });
});
