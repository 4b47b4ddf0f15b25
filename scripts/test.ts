#!/usr/bin/env -S npx tsx
// The project's test command (make test / npm test): typecheck, unit tests,
// then the integration tests against a real broker and registry. Without
// KAFKA_BROKERS it starts the local stack (jars, no Docker) and stops it
// afterwards, unless it was already running.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { stackDown, stackUp } from './lib/local-stack.ts';

const { values } = parseArgs({
  options: {
    unit: { type: 'boolean', default: false, description: 'unit tests only' },
  },
});

// Asynchronous on purpose: the stack's processes are children of this one,
// and only a running event loop reaps one that a test stopped.
async function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  console.log(`\n$ ${command} ${args.join(' ')}`);
  const child = spawn(command, args, { stdio: 'inherit', env });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (...exit) => resolve(exit)));
  if (code !== 0) throw new Error(`${command} ${args[0] ?? ''} exited with ${code ?? signal}`);
}

const suites = values.unit ? ['tests/unit/**/*.test.ts'] : ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'];
let startedStack = false;
let failed = false;
try {
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit']);
  const env = { ...process.env };
  if (!values.unit && !env.KAFKA_BROKERS) {
    const stack = await stackUp();
    startedStack = !stack.alreadyUp;
    env.KAFKA_BROKERS = stack.brokers;
    env.SCHEMA_REGISTRY_URL = stack.registryUrl;
    env.LOCAL_STACK = '1';
  }
  // One runner invocation, files one after another: the integration suites
  // share one broker and the machine has two cores.
  await run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', ...suites], env);
} catch (error) {
  console.error(`\ntests failed: ${(error as Error).message}`);
  failed = true;
} finally {
  if (startedStack) await stackDown();
}
process.exit(failed ? 1 : 0);
