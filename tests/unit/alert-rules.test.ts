// The alerting setup under observability/, checked by the tools of the
// Prometheus and Alertmanager releases compose.yaml runs (Debian's packages
// here): the rules and the Prometheus configuration are valid, every rule's
// unit tests in alerts.test.yml pass (a case where it fires and one where it
// must not), the Alertmanager configuration is valid, and each rule says what
// to look at.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
const DIR = fileURLToPath(new URL('../../observability/', import.meta.url));
const INSTALL = 'apt-get install prometheus prometheus-alertmanager';

/** Runs a tool of the Prometheus packages in observability/; its output on failure. */
async function tool(command: string, ...args: string[]): Promise<string> {
  const path = `/usr/bin/${command}`;
  assert.ok(existsSync(path), `${command} is needed at ${path} (${INSTALL})`);
  try {
    const { stdout, stderr } = await run(path, args, { cwd: DIR });
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

const rules = (parse(readFileSync(`${DIR}alerts.yml`, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (group) => group.rules,
);

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
      parse(readFileSync(`${DIR}alerts.test.yml`, 'utf8')) as {
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
    const config = parse(readFileSync(`${DIR}alertmanager.yml`, 'utf8')) as {
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
