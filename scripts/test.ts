#!/usr/bin/env -S npx tsx
// The project's test command (make test / npm test): typecheck, unit tests,
// the integration tests against a real broker and registry, then the
// scenarios (the Makefile's scenario-* targets, asserted). The broker and
// registry come from KAFKA_BROKERS / SCHEMA_REGISTRY_URL, else from the local
// stack (KAFKA_VERSION chooses its Kafka: 3.9.1 with ZooKeeper by default, or
// 4.x in KRaft mode), started here and stopped afterwards unless it was running: not from
// Testcontainers, as the tests that stop the broker or registry run only on
// the local stack (scripts/harness/infrastructure.ts decides).
import { parseArgs } from 'node:util';
import { provideInfrastructure } from './harness/infrastructure.ts';
import { runAttached } from './harness/run-command.ts';

const { values } = parseArgs({
  options: {
    unit: { type: 'boolean', default: false, description: 'unit tests only' },
    integration: { type: 'boolean', default: false, description: 'integration tests and scenarios only' },
  },
});

interface Phase {
  name: string;
  seconds: number;
  error?: Error;
}

const phases: Phase[] = [];

async function phase(name: string, body: () => Promise<void>): Promise<boolean> {
  const started = Date.now();
  const result: Phase = { name, seconds: 0 };
  try {
    await body();
  } catch (error) {
    result.error = error as Error;
  }
  result.seconds = (Date.now() - started) / 1000;
  phases.push(result);
  return result.error === undefined;
}

/** The node test runner over some suites, files one after another: they share one broker, and CI has two cores. */
function nodeTest(patterns: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const runner = ['--test', '--test-concurrency=1', '--test-timeout=300000'];
  return runAttached([process.execPath, '--import', 'tsx', ...runner, ...patterns], env);
}

let release = async () => {};
try {
  const typecheck = () => runAttached([process.execPath, 'node_modules/typescript/bin/tsc', '--noEmit']);
  if (values.integration || (await phase('typecheck', typecheck))) {
    if (values.unit) {
      await phase('unit tests', () => nodeTest(['tests/unit/**/*.test.ts'], process.env));
    } else {
      ({ release } = await provideInfrastructure({ testcontainers: false }));
      const unit = values.integration ? [] : ['tests/unit/**/*.test.ts'];
      await phase(values.integration ? 'integration tests' : 'unit and integration tests', () =>
        nodeTest([...unit, 'tests/integration/**/*.test.ts'], process.env),
      );
      // Scenarios last, and also when a test above failed: they are independent and say more.
      await phase('scenarios', () => nodeTest(['tests/scenarios/**/*.test.ts'], process.env));
    }
  }
} catch (error) {
  phases.push({ name: 'broker and registry', seconds: 0, error: error as Error });
} finally {
  await release();
}

console.log('\n== make test');
for (const { name, seconds, error } of phases) {
  console.log(
    `  ${error ? 'FAIL' : 'PASS'}  ${name.padEnd(28)} ${seconds.toFixed(1).padStart(6)} ` +
      `s${error ? `  ${error.message}` : ''}`,
  );
}
const failed = phases.some((result) => result.error !== undefined);
console.log(failed ? '\ntests failed (the runner output above shows which)' : '\nall passed');
process.exit(failed ? 1 : 0);
