#!/usr/bin/env -S npx tsx
// The project's test command (make test / npm test): typecheck, unit tests,
// then the integration tests against a real broker and registry. Without
// KAFKA_BROKERS it starts the local stack (jars, no Docker) and stops it
// afterwards, unless it was already running.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { stackDown, stackUp } from './lib/local-stack.ts';

const { values } = parseArgs({
  options: {
    unit: { type: 'boolean', default: false, description: 'unit tests only' },
  },
});

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.log(`\n$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    throw new Error(`${command} ${args[0] ?? ''} exited with ${result.status ?? result.signal}`);
  }
}

const suites = values.unit ? ['tests/unit/**/*.test.ts'] : ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'];
let startedStack = false;
let failed = false;
try {
  run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit']);
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
  run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', ...suites], env);
} catch (error) {
  console.error(`\ntests failed: ${(error as Error).message}`);
  failed = true;
} finally {
  if (startedStack) await stackDown();
}
process.exit(failed ? 1 : 0);
