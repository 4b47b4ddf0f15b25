// The alerting setup under observability/, checked by the tools of the
// Prometheus and Alertmanager releases compose.yaml runs (Debian's packages
// here): the rules and the Prometheus configuration are valid, every rule's
// unit tests in alerts.test.yml pass (a case where it fires and one where it
// must not), the Alertmanager configuration is valid, and each rule says what
// to look at. The copies the local lab and scenario-alert run (rewritten for
// 127.0.0.1, rules on a faster clock) pass the same tools.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import {
  alertmanagerConfig,
  hastenedRules,
  INSTALL_HINT,
  OBSERVABILITY_DIR,
  prometheusConfig,
  RULES_FILE,
} from '../../scripts/harness/observability.ts';

const run = promisify(execFile);

/** Runs a tool of the Prometheus packages in `cwd` (observability/); its output on failure. */
async function tool(command: string, ...args: string[]): Promise<string> {
  return toolIn(OBSERVABILITY_DIR, command, ...args);
}

async function toolIn(cwd: string, command: string, ...args: string[]): Promise<string> {
  const path = `/usr/bin/${command}`;
  assert.ok(existsSync(path), `${command} is needed at ${path} (${INSTALL_HINT})`);
  try {
    const { stdout, stderr } = await run(path, args, { cwd });
    return stdout + stderr;
  } catch (error) {
    const { stdout, stderr } = error as { stdout: string; stderr: string };
    assert.fail(`${command} ${args.join(' ')} failed:\n${stdout}${stderr}`);
  }
}

interface Rule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (
  parse(readFileSync(`${OBSERVABILITY_DIR}alerts.yml`, 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((group) => group.rules);

describe('observability/', () => {
  it('has valid rules and a Prometheus configuration that loads them', async () => {
    assert.match(await tool('promtool', 'check', 'rules', 'alerts.yml'), new RegExp(`SUCCESS: ${rules.length} rules`));
    assert.match(await tool('promtool', 'check', 'config', 'prometheus.yml'), /SUCCESS/);
  });

  it("passes the rules' unit tests", async () => {
    assert.match(await tool('promtool', 'test', 'rules', 'alerts.test.yml'), /SUCCESS/);
  });

  it('tests every rule where it fires and where it must not', () => {
    const tests = (
      parse(readFileSync(`${OBSERVABILITY_DIR}alerts.test.yml`, 'utf8')) as {
        tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests.flatMap((test) => test.alert_rule_test);
    for (const { alert } of rules) {
      const cases = tests.filter((test) => test.alertname === alert);
      assert.ok(
        cases.some((test) => test.exp_alerts.length > 0),
        `${alert}: no case in alerts.test.yml where it fires`,
      );
      assert.ok(
        cases.some((test) => test.exp_alerts.length === 0),
        `${alert}: no case in alerts.test.yml where it must not fire`,
      );
    }
  });

  it('gives every rule a severity, a summary and a description', () => {
    for (const rule of rules) {
      assert.match(rule.labels?.severity ?? '', /^(warning|critical)$/, `${rule.alert}: severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
      assert.ok((rule.annotations?.description ?? '').length > 80, `${rule.alert}: a description that says what to do`);
    }
  });

  it('has a valid Alertmanager configuration that sends to the DLQ service with a token', async () => {
    assert.match(await tool('amtool', 'check-config', 'alertmanager.yml'), /SUCCESS/);
    const config = parse(readFileSync(`${OBSERVABILITY_DIR}alertmanager.yml`, 'utf8')) as {
      receivers: { webhook_configs?: { url: string; send_resolved: boolean; http_config: unknown }[] }[];
    };
    const [webhook] = config.receivers.flatMap((receiver) => receiver.webhook_configs ?? []);
    assert.match(webhook?.url ?? '', /\/alerts$/);
    assert.equal(webhook?.send_resolved, true, 'resolved alerts leave the list');
    assert.deepEqual(webhook?.http_config, {
      authorization: { type: 'Bearer', credentials_file: '/tmp/dlq-alerts-token' },
    });
  });
});

describe('the local copies of observability/', () => {
  let dir: string;
  const addresses = {
    consumer: '127.0.0.1:41001',
    'dlq-service': '127.0.0.1:41002',
    alertmanager: '127.0.0.1:41003',
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'observability-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("rewrites Prometheus's targets to the addresses given and leaves out a service that has none", async () => {
    const text = await prometheusConfig({ addresses, rulesFile: RULES_FILE, interval: '1s' });
    await writeFile(join(dir, 'prometheus.yml'), text);
    assert.match(await toolIn(dir, 'promtool', 'check', 'config', 'prometheus.yml'), /SUCCESS/);
    const config = parse(text);
    assert.deepEqual(config.global, { scrape_interval: '1s', evaluation_interval: '1s' });
    assert.deepEqual(config.rule_files, [RULES_FILE]);
    assert.deepEqual(config.alerting.alertmanagers[0].static_configs[0].targets, ['127.0.0.1:41003']);
    assert.deepEqual(
      config.scrape_configs.map((job: { job_name: string; static_configs: { targets: string[] }[] }) => [
        job.job_name,
        job.static_configs[0]?.targets,
      ]),
      [
        ['consumer', ['127.0.0.1:41001']],
        ['dlq-service', ['127.0.0.1:41002']],
      ],
    );
  });

  it("points Alertmanager's webhook at the DLQ service's address with the token file given", async () => {
    const tokenFile = join(dir, 'token');
    const text = await alertmanagerConfig({ addresses, tokenFile, groupWait: '1s', groupInterval: '2s' });
    await writeFile(join(dir, 'alertmanager.yml'), text);
    assert.match(await toolIn(dir, 'amtool', 'check-config', 'alertmanager.yml'), /SUCCESS/);
    const config = parse(text);
    assert.equal(config.route.group_wait, '1s');
    assert.equal(config.route.group_interval, '2s');
    assert.deepEqual(config.receivers[0].webhook_configs[0].url, 'http://127.0.0.1:41002/alerts');
    assert.equal(config.receivers[0].webhook_configs[0].http_config.authorization.credentials_file, tokenFile);
  });

  it('runs the same rules on a faster clock: every for and range divided, thresholds kept', async () => {
    const text = hastenedRules(readFileSync(RULES_FILE, 'utf8'), 10);
    await writeFile(join(dir, 'alerts.yml'), text);
    assert.match(await toolIn(dir, 'promtool', 'check', 'rules', 'alerts.yml'), /SUCCESS/);
    const hastened = (parse(text) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
    const rate = hastened.find((rule) => rule.alert === 'DeadLetterRateHigh') as Rule & { for: string };
    assert.equal(rate.for, '12s');
    assert.equal(rate.expr.trim(), 'sum by (failure_class) (rate(orders_dead_lettered_total[30s])) > 0.1');
    assert.deepEqual(
      hastened.map((rule) => rule.alert),
      rules.map((rule) => rule.alert),
    );
    assert.ok(
      hastened.every((rule) => !/\[\d+m\]/.test(rule.expr)),
      'no range left in minutes',
    );
  });
});
