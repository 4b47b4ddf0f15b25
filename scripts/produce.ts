#!/usr/bin/env -S npx tsx
// `make produce`: one batch of orders into the running lab, then what was
// sent. The producer's own flags pass through (--count, --invalid, --poison,
// --transient, --fail-times, --seed); it runs with no pause between records
// and prints its ground truth, of which this prints the counts per kind and
// the keys of the failing ones (the DLQ API and the dashboard search by key).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withLabEndpoints } from '../services/lib/lab-endpoints.ts';
import type { GroundTruth } from '../services/producer/producer.ts';

const PRODUCER = fileURLToPath(new URL('../services/producer/main.ts', import.meta.url));
const KEYS_SHOWN = 5;

const { env, note } = withLabEndpoints(process.env);
if (!env.KAFKA_BROKERS || !env.SCHEMA_REGISTRY_URL) {
  console.error(
    'produce: the lab is not up (`make up` starts it), and KAFKA_BROKERS / SCHEMA_REGISTRY_URL are not set',
  );
  process.exit(1);
}
if (note) console.log(note);

// Logs at warn and above only (on stderr, with --json): the summary below is what this prints.
const child = spawn(
  process.execPath,
  ['--import', 'tsx', PRODUCER, '--interval', '0', ...process.argv.slice(2), '--json'],
  { env: { ...env, LOG_LEVEL: 'warn', HTTP_PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] },
);
child.stdout.setEncoding('utf8');
let stdout = '';
child.stdout.on('data', (chunk: string) => (stdout += chunk));
const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
if (code !== 0) {
  console.error(`produce: the producer exited with ${code}`);
  process.exit(1);
}

const truth = JSON.parse(stdout) as GroundTruth & { seed: number };
const topic = env.ORDERS_TOPIC ?? 'orders';
console.log(`Sent ${truth.sent} records to ${topic} at ${env.KAFKA_BROKERS} (seed ${truth.seed}):`);
for (const [kind, keys] of Object.entries(truth.keys)) {
  const shown = kind === 'valid' || keys.length === 0 ? '' : `  ${keys.slice(0, KEYS_SHOWN).join(' ')}`;
  const more = kind !== 'valid' && keys.length > KEYS_SHOWN ? ` and ${keys.length - KEYS_SHOWN} more` : '';
  console.log(`  ${kind.padEnd(10)} ${String(keys.length).padStart(6)}${shown}${more}`);
}
if (truth.keys.transient.length > 0) {
  console.log(`Each transient order fails ${truth.failTimes} time(s) before it succeeds.`);
}
