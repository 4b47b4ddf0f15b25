// Runs a command to completion with the terminal attached.
import { spawn } from 'node:child_process';

/**
 * Rejects when the command exits non-zero. Asynchronous on purpose: processes
 * this one started (the local stack) are reaped only while the event loop runs.
 */
export async function runAttached(command: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const [file, ...args] = command;
  console.log(`\n$ ${command.join(' ')}`);
  const child = spawn(file!, args, { stdio: 'inherit', env });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (...exit) => resolve(exit));
  });
  if (code !== 0) throw new Error(`\`${command.join(' ')}\` exited with ${code ?? signal}`);
}
