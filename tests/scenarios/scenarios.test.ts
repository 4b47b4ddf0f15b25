// The Makefile's scenarios under the node test runner, so `make test` runs and
// reports them with everything else: one test per scenario, its PASS/FAIL
// table as diagnostics, and the table in the failure message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scenarios } from '../../scripts/scenarios/all.ts';
import { formatTable, runScenario, useLabInfrastructure } from '../../scripts/scenarios/scenario.ts';

describe('scenarios', () => {
  let release: (() => Promise<void>) | undefined;
  before(async () => {
    release = await useLabInfrastructure();
  });
  after(() => release?.());

  for (const scenario of scenarios) {
    it(`scenario-${scenario.name}: ${scenario.title}`, async (t) => {
      const result = await runScenario(scenario);
      const table = formatTable([result]);
      for (const line of table.split('\n')) t.diagnostic(line);
      assert.ok(result.passed, `scenario-${scenario.name} failed:\n${table}`);
    });
  }
});
