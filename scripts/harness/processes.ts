// Background processes with pid files and log files: what the local stack
// (ZooKeeper, Kafka, the registry) and the local lab's services (consumer,
// DLQ service...) both need. A pid file is trusted only while its process
// still looks like ours, so a recycled pid is never signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_INTERVAL_MS = 250;

/** The pid in `file` when `isOurs(pid)` says it is still ours; a stale pid file is removed on the way. */
export async function ourPidFrom(file: string, isOurs: (pid: number) => Promise<boolean>): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(file, 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (Number.isInteger(pid) && (await isOurs(pid))) return pid;
  await rm(file, { force: true });
  return undefined;
}

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process that has exited but whose parent has not reaped it yet (a
  // zombie, state Z) still answers kill(0); it is gone all the same.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // already gone is fine
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processExists(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(POLL_INTERVAL_MS);
  }
  return true;
}

/** SIGKILL, as a crash would end it; resolves once it is gone (false if it is still there after 5 s). */
export async function killProcess(pid: number): Promise<boolean> {
  signal(pid, 'SIGKILL');
  return waitForExit(pid, 5000);
}

/**
 * SIGTERM, then SIGKILL when the process is still there after `timeoutMs`
 * (`onKill` says so first). Resolves to false only if it survived SIGKILL.
 */
export async function stopProcess(pid: number, timeoutMs: number, onKill: () => void): Promise<boolean> {
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, timeoutMs)) return true;
  onKill();
  signal(pid, 'SIGKILL');
  return waitForExit(pid, 5000);
}

export interface LoggedLaunch {
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  detached: boolean;
  /** Truncated per start, so a tail shows this run only. */
  logFile: string;
}

/**
 * Starts a process with stdout and stderr going to its log; `exited` is watched from the start, so a quick exit is
 * never missed.
 */
export async function spawnLogged({
  command,
  args,
  cwd,
  env,
  detached,
  logFile,
}: LoggedLaunch): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const log = await open(logFile, 'w');
  try {
    const child = spawn(command, args, { cwd, env, detached, stdio: ['ignore', log.fd, log.fd] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await once(child, 'spawn');
    return { child, exited };
  } finally {
    await log.close();
  }
}

/** The last lines of a log file, read from its end (Kafka's log grows long); empty when there is none. */
export async function tailFile(file: string, lines: number): Promise<string> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 256 * 1024);
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, size - length);
    return buffer.toString('utf8', 0, bytesRead).trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    await handle.close();
  }
}
