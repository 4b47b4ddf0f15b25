#!/usr/bin/env -S npx tsx
// The local lab's `restart: unless-stopped`: runs one service entrypoint and
// starts it again whenever it exits without being asked to (a crash, a
// consumer that kafkajs gave up on, which exits 1), after a backoff that
// doubles from 1 s to 30 s and starts over once a run has lasted a minute.
// SIGTERM/SIGINT are passed on to the service, and the supervisor exits with
// its code. Usage: scripts/supervise.ts <entrypoint.ts> [args...]
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
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

let delay = FIRST_DELAY_MS;
for (;;) {
  const started = Date.now();
  child = spawn(process.execPath, ['--import', 'tsx', entrypoint, ...args], { stdio: 'inherit' });
  const [code, signal] = (await new Promise((resolve) => child!.once('exit', (...result) => resolve(result)))) as [
    number | null,
    NodeJS.Signals | null,
  ];
  if (stopping !== undefined || code === 0) process.exit(code ?? 1);
  if (Date.now() - started >= STABLE_MS) delay = FIRST_DELAY_MS;
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
  delay = Math.min(delay * 2, MAX_DELAY_MS);
}
