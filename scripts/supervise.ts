#!/usr/bin/env -S npx tsx
// The local lab's `restart: unless-stopped`: runs one service entrypoint and
// starts it again whenever it exits without being asked to (a crash, a
// consumer that kafkajs gave up on, which exits 1), after a backoff that
// doubles from 1 s to 30 s and starts over once a run has lasted a minute.
// SIGTERM/SIGINT are passed on to the service, and the supervisor exits with
// its code. Usage: scripts/supervise.ts <entrypoint.ts> [args...]
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BackoffPolicy, backoffDelay } from '../services/lib/retry.ts';

/** 1 s, 2 s, 4 s, ... up to 30 s between restarts; a run that lasted STABLE_MS starts the schedule over. */
const RESTART_BACKOFF: BackoffPolicy = { baseMs: 1000, factor: 2, maxMs: 30_000, jitter: 0, maxRetries: Infinity };
const STABLE_MS = 60_000;

const [entrypoint, ...args] = process.argv.slice(2);
if (entrypoint === undefined) {
  console.error('usage: scripts/supervise.ts <entrypoint.ts> [args...]');
  process.exit(2);
}

let stopping: NodeJS.Signals | undefined;
let child: ReturnType<typeof spawn> | undefined;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    stopping = signal;
    child?.kill(signal);
  });
}

let restarts = 0;
for (;;) {
  const started = Date.now();
  child = spawn(process.execPath, ['--import', 'tsx', entrypoint, ...args], { stdio: 'inherit' });
  const [code, signal] = (await new Promise((resolve) => child!.once('exit', (...result) => resolve(result)))) as [
    number | null,
    NodeJS.Signals | null,
  ];
  if (stopping !== undefined || code === 0) process.exit(code ?? 1);
  if (Date.now() - started >= STABLE_MS) restarts = 0;
  restarts += 1;
  const delay = backoffDelay(RESTART_BACKOFF, restarts);
  const line = {
    supervisor: entrypoint,
    exitCode: code,
    signal,
    restartInMs: delay,
    msg: 'service exited unasked; restarting it',
  };
  console.log(JSON.stringify({ level: 40, time: Date.now(), ...line }));
  await sleep(delay);
  if (stopping !== undefined) process.exit(1);
}
