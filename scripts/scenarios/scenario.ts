// What every scenario shares. A scenario gets a lab of its own (unique topics
// and group, so a rerun never sees old data: scripts/harness/lab.ts), the
// real consumer and DLQ service as child processes, and records checks; this
// module runs scenarios, prints the PASS/FAIL table and sets the exit code.
// Every wait has a deadline; nothing sleeps for a fixed time.
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { loadConfig, serviceSpecs, type ServiceConfig } from '../../services/lib/config.ts';
import type { StatsView } from '../../services/lib/order-stats.ts';
import { freePort } from '../harness/free-port.ts';
import { readLabState } from '../harness/lab-state.ts';
import { provideInfrastructure } from '../harness/infrastructure.ts';
import { Lab, waitUntil, type ServiceProcess } from '../harness/lab.ts';
import { DlqApi, type DlqItem } from './dlq-api.ts';

export interface Scenario {
  /** As in `make scenario-<name>`. */
  name: string;
  /** What it shows, in one line. */
  title: string;
  run(context: ScenarioContext): Promise<void>;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  scenario: Scenario;
  checks: Check[];
  seconds: number;
  passed: boolean;
  /** A failed run's services' output. */
  logDir?: string;
}

/** Where a failed scenario leaves its services' output (git-ignored). */
const LOG_ROOT = fileURLToPath(new URL('../../.cache/scenarios/', import.meta.url));

export class ScenarioContext {
  readonly checks: Check[] = [];
  /** The long-running services this scenario started, for their logs. */
  readonly services: { name: string; process: ServiceProcess }[] = [];
  readonly lab: Lab;
  /** Set by startDlqService(). */
  dlq!: DlqApi;

  /** Run once the lab has stopped, last added first (a temporary directory to remove, a browser to close). */
  readonly cleanups: (() => Promise<unknown>)[] = [];

  constructor(readonly scenario: Scenario) {
    this.lab = new Lab();
  }

  /** Records a check; a failed one fails the scenario but the scenario goes on, so the table shows every check. */
  check(name: string, ok: boolean, detail = ''): boolean {
    this.checks.push({ name, ok, detail });
    return ok;
  }

  /** A check that `actual` deep-equals `expected`; the detail shows both when they differ. */
  equal<T>(name: string, actual: T, expected: T, detail?: string): boolean {
    const ok = isDeepStrictEqual(actual, expected);
    return this.check(
      name,
      ok,
      ok ? (detail ?? JSON.stringify(actual)) : `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }

  /**
   * Polls `read` until `done` holds for its value or the deadline passes, and
   * resolves with the last value either way: the check that follows then
   * shows what was seen instead of a bare timeout.
   */
  async settle<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    let last: { value: T } | undefined;
    await waitUntil(what, async () => {
      last = { value: await read() };
      return done(last.value);
    }).catch(() => undefined);
    return last === undefined ? read() : last.value;
  }

  /** The consumer's configuration in this lab (its retry policy, for the expected outcome). */
  get consumerConfig(): ServiceConfig<'consumer'> {
    return loadConfig(serviceSpecs.consumer, this.lab.env);
  }

  /**
   * The end state: waits until the consumer has committed everything on the
   * orders and retry topics, then until the DLQ service shows the expected
   * number of dead letters and orders (or the deadline passes), and resolves
   * with what the API shows.
   */
  async outcome(expected: {
    deadLetters: number;
    orders: number;
  }): Promise<{ deadLetters: DlqItem[]; stats: StatsView }> {
    await waitUntil('the consumer to drain the orders and retry topics', () => this.lab.drained(1));
    await this.settle(
      'the DLQ service to index the dead letters',
      () => this.dlq.total(),
      (total) => total >= expected.deadLetters,
    );
    const stats = await this.settle(
      'the aggregate to count the orders',
      () => this.dlq.orderStats(),
      ({ count }) => count >= expected.orders,
    );
    return { deadLetters: await this.dlq.listAll(), stats };
  }

  startConsumer(env: Record<string, string> = {}): ServiceProcess {
    const consumer = this.lab.startConsumer(env);
    const started = this.services.filter(({ name }) => name.startsWith('consumer')).length;
    this.services.push({ name: `consumer-${started + 1}`, process: consumer });
    return consumer;
  }

  /** Writes every service's output under .cache/scenarios, for a failed run; resolves to the directory. */
  async saveLogs(): Promise<string> {
    const dir = join(LOG_ROOT, `${this.scenario.name}-${this.lab.prefix}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(this.services.map(({ name, process }) => writeFile(join(dir, `${name}.log`), process.output)));
    return dir;
  }

  /**
   * The DLQ service over this lab's topics, with a token for the replay routes; resolves once it is ready (index caught
   * up).
   */
  async startDlqService(env: Record<string, string> = {}): Promise<DlqApi> {
    const port = await freePort();
    const token = randomBytes(24).toString('base64url');
    const service = this.lab.spawn('services/dlq-service/main.ts', {
      HTTP_PORT: String(port),
      HTTP_HOST: '127.0.0.1',
      DLQ_API_TOKEN: token,
      ...env,
    });
    this.services.push({ name: 'dlq-service', process: service });
    this.dlq = new DlqApi(`http://127.0.0.1:${port}`, token);
    const exited = service.exited.then(() => {
      throw new Error(`the DLQ service exited before it was ready:\n${service.output.slice(-2000)}`);
    });
    exited.catch(() => undefined); // only fatal while we wait
    await Promise.race([waitUntil('the DLQ service to be ready', () => this.dlq.ready()), exited]);
    return this.dlq;
  }
}

export async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const started = Date.now();
  const context = new ScenarioContext(scenario);
  try {
    await context.lab.start();
    await scenario.run(context);
  } catch (error) {
    context.check('completes', false, (error as Error).message.split('\n').slice(0, 6).join(' | '));
  } finally {
    await context.lab.stop().catch((error: Error) => context.check('stops its lab', false, error.message));
    for (const cleanup of context.cleanups.reverse()) {
      await cleanup().catch((error: Error) => context.check('cleans up', false, error.message));
    }
  }
  if (context.checks.length === 0) context.check('makes a check', false, 'the scenario checked nothing');
  const passed = context.checks.every((check) => check.ok);
  const logDir = passed ? undefined : relative(process.cwd(), await context.saveLogs());
  return { scenario, checks: context.checks, seconds: (Date.now() - started) / 1000, passed, logDir };
}

/** The PASS/FAIL table: one row per check, then one line per scenario with its time. */
export function formatTable(results: readonly ScenarioResult[]): string {
  const rows = results.flatMap(({ scenario, checks }) =>
    checks.map((check) => [scenario.name, check.ok ? 'PASS' : 'FAIL', check.name, check.detail]),
  );
  const widths = [0, 1, 2].map((column) =>
    Math.max(...[['scenario', 'result', 'check'], ...rows].map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd();
  const summary = results.map(
    ({ scenario, passed, seconds, logDir }) =>
      `${passed ? 'PASS' : 'FAIL'}  scenario-${scenario.name.padEnd(10)} ${seconds.toFixed(1).padStart(5)} s  ` +
      `${scenario.title}${logDir ? ` (service logs: ${logDir})` : ''}`,
  );
  const failed = results.filter((result) => !result.passed).length;
  return [
    line(['scenario', 'result', 'check', 'detail']),
    line(widths.map((width) => '-'.repeat(width)).concat('------')),
    ...rows.map(line),
    '',
    ...summary,
    '',
    failed === 0 ? `All ${results.length} scenario(s) passed.` : `${failed} of ${results.length} scenario(s) FAILED.`,
  ].join('\n');
}

/**
 * The broker and registry scenarios run against, in this order: the
 * KAFKA_BROKERS / SCHEMA_REGISTRY_URL of the environment; the lab `make up`
 * started; else what the integration harness picks (Testcontainers when
 * Docker answers, else the local stack, which is stopped again if it was
 * started here).
 * Resolves to a function that undoes what it started.
 */
export async function useLabInfrastructure(): Promise<() => Promise<void>> {
  const state = process.env.KAFKA_BROKERS || process.env.SCHEMA_REGISTRY_URL ? undefined : await readLabState();
  if (state) {
    console.log(
      `Running against the lab \`make up\` started (${state.mode}): Kafka ${state.brokers}, registry ` +
        `${state.registryUrl}`,
    );
    Object.assign(process.env, { KAFKA_BROKERS: state.brokers, SCHEMA_REGISTRY_URL: state.registryUrl });
  }
  // Otherwise what the integration tests use: the variables, Testcontainers or the local stack.
  return (await provideInfrastructure()).release;
}

/** Entry point of the scenario scripts: runs them, prints the table, exits non-zero on any failure. */
export async function main(scenarios: readonly Scenario[]): Promise<never> {
  const release = await useLabInfrastructure();
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of scenarios) {
      console.log(`\n== scenario-${scenario.name}: ${scenario.title}`);
      const result = await runScenario(scenario);
      console.log(`   ${result.passed ? 'PASS' : 'FAIL'} in ${result.seconds.toFixed(1)} s`);
      results.push(result);
    }
  } finally {
    await release();
  }
  console.log(`\n${formatTable(results)}`);
  process.exit(results.every((result) => result.passed) ? 0 : 1);
}

/** True when the module at `moduleUrl` is the script node was started with (not imported by another). */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
}
