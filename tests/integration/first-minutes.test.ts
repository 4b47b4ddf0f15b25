// What a new user meets first, against the real broker and registry: the
// producer and the DLQ reader run by hand find `make up`'s lab with no
// variable set and say so in their first line; `make produce`
// (scripts/produce.ts) prints what it sent; and a clean run of a service and
// of scripts prints no warning and no error line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Lab, ServiceProcess, waitUntil } from '../../scripts/harness/lab.ts';
import { LAB_STATE_FILE } from '../../services/lib/lab-endpoints.ts';

const LAB_NOTE = /^(dlq-reader: )?KAFKA_BROKERS and SCHEMA_REGISTRY_URL are not set: using the lab `make up` started/;

/**
 * Warning and error lines: Node's process warnings, and pino lines at warn (40) or above but the consumer's
 * "dead-lettering order", which the failing orders sent here on purpose earn.
 */
function complaints(process: ServiceProcess): string[] {
  return process.output.split('\n').filter((line) => {
    if (!line.startsWith('{')) return /\bWarning\b|\berror\b/i.test(line);
    try {
      const { level = 0, msg } = JSON.parse(line) as { level?: number; msg?: string };
      return level >= 40 && msg !== 'dead-lettering order';
    } catch {
      return true;
    }
  });
}

describe('the first minutes', {
  skip: existsSync(LAB_STATE_FILE) && "a lab from `make up` is running: its state file is not this test's to write",
}, () => {
  const lab = new Lab();
  const ran: { name: string; process: ServiceProcess }[] = [];

  /** An entrypoint run as a user would beside the lab: the lab's topics, no KAFKA_BROKERS or SCHEMA_REGISTRY_URL. */
  function byHand(name: string, entrypoint: string, args: string[]): ServiceProcess {
    const { KAFKA_BROKERS: _brokers, SCHEMA_REGISTRY_URL: _registry, ...env } = lab.env;
    const child = spawn(process.execPath, ['--import', 'tsx', entrypoint, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(child, { command: `${entrypoint} ${args.join(' ')}` });
    ran.push({ name, process: service });
    return service;
  }

  async function succeeds(service: ServiceProcess): Promise<void> {
    const { code } = await service.exited;
    assert.equal(code, 0, `${service.command} exited with ${code}:\n${service.output.slice(-3000)}`);
  }

  before(async () => {
    await lab.start();
    await mkdir(dirname(LAB_STATE_FILE), { recursive: true });
    const { KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl } = lab.env;
    await writeFile(LAB_STATE_FILE, JSON.stringify({ brokers, registryUrl }));
  });
  after(async () => {
    await rm(LAB_STATE_FILE, { force: true });
    await lab.stop();
  });

  it('the producer run by hand sends into the lab and says so in its first line', { timeout: 60_000 }, async () => {
    const producer = byHand('producer', 'services/producer/main.ts', ['--count', '5', '--interval', '0']);
    await succeeds(producer);
    const [first] = producer.output.split('\n');
    assert.match(String((JSON.parse(first!) as { msg: string }).msg), LAB_NOTE);
    assert.equal((await lab.readAll(lab.topics.orders)).length, 5);
  });

  it('make produce sends one batch and prints how many of each kind it sent', { timeout: 60_000 }, async () => {
    const args = ['--count', '7', '--invalid', '2', '--poison', '1', '--transient', '1'];
    const produce = byHand('make produce', 'scripts/produce.ts', args);
    await succeeds(produce);
    assert.match(produce.stdout, LAB_NOTE);
    assert.match(produce.stdout, new RegExp(`^Sent 11 records to ${lab.topics.orders} at `, 'm'));
    for (const [kind, count] of [
      ['valid', 7],
      ['invalid', 2],
      ['poison', 1],
      ['transient', 1],
    ] as const) {
      assert.match(produce.stdout, new RegExp(`^  ${kind} +${count}\\b`, 'm'), `${kind}: ${produce.stdout}`);
    }
    assert.equal((await lab.readAll(lab.topics.orders)).length, 5 + 11);
  });

  it('a consumer on a new group processes them with no warning and no error line', { timeout: 120_000 }, async () => {
    const consumer = lab.startConsumer();
    ran.push({ name: 'consumer', process: consumer });
    await waitUntil('the consumer to drain the orders and retry topics', () => lab.drained(), 90_000).catch(
      consumer.rethrowWithOutput,
    );
    await consumer.stop();
  });

  it("the DLQ reader run by hand reads the lab's dead letters and says so first", { timeout: 60_000 }, async () => {
    const reader = byHand('dlq-reader', 'scripts/dlq-reader.ts', ['--json']);
    await succeeds(reader);
    assert.match(reader.output.split('\n')[0]!, LAB_NOTE);
    const rows = reader.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { failureClass: string });
    assert.deepEqual(rows.map((row) => row.failureClass).sort(), ['invalid', 'invalid', 'undecodable']);
  });

  it('none of them printed a warning or an error line', () => {
    assert.ok(ran.length >= 4, 'the runs above happened');
    for (const { name, process } of ran)
      assert.deepEqual(complaints(process), [], `${name}:\n${process.output.slice(-3000)}`);
  });
});
