#!/usr/bin/env -S npx tsx
// make scenarios: every scenario, one after another, one summary table.
// tests/scenarios runs the same list under the node test runner.
import { alertScenario } from './alert.ts';
import { crashScenario } from './crash.ts';
import { dlqScenario } from './dlq.ts';
import { evolutionScenario } from './evolution.ts';
import { faultsScenario } from './faults.ts';
import { replayScenario } from './replay.ts';
import { retryScenario } from './retry.ts';
import { isMain, main, type Scenario } from './scenario.ts';

export const scenarios: readonly Scenario[] = [
  dlqScenario,
  retryScenario,
  replayScenario,
  crashScenario,
  evolutionScenario,
  faultsScenario,
  alertScenario,
];

if (isMain(import.meta.url)) await main(scenarios);
