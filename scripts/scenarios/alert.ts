#!/usr/bin/env -S npx tsx
// scenario-alert: a burst of poison records raises the dead-letter-rate alert
// end to end (Prometheus scrapes the consumer and evaluates the rules,
// Alertmanager calls the DLQ service's webhook, GET /alerts lists the alert
// and the dashboard shows it as a banner that opens the matching records)
// within 90 s, and the alert resolves once the burst is over.
//
// Prometheus and Alertmanager are Debian's packages (installed when missing
// and running as root; otherwise the scenario fails saying what to install),
// scraping and evaluating every second, with observability/alerts.yml on a
// clock ten times faster: every `for` and range divided by 10, thresholds
// as they are (DeadLetterRateHigh: more than 0.1/s over 30 s, for 12 s).
// Alertmanager groups for 1 s and notifies changes every 2 s.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../harness/browser.ts';
import { freePort } from '../harness/free-port.ts';
import { answersOk } from '../harness/http-probe.ts';
import { waitUntil } from '../harness/lab.ts';
import { hastenedRules, observabilityBinaries, prepareObservability, RULES_FILE } from '../harness/observability.ts';
import type { ActiveAlert } from './dlq-api.ts';
import { isMain, main, type Scenario, type ScenarioContext } from './scenario.ts';

/** Poison records sent at once: ~1/s over the hastened rule's 30 s window, ten times its threshold. */
const BURST = 30;
const SPEEDUP = 10;
const FIRE_WITHIN_S = 90;
const RESOLVE_WITHIN_S = 90;
const ALERT = 'DeadLetterRateHigh';
const FAILURE_CLASS = 'undecodable';
const BANNER_LINK = `#alert-banner a.alert[data-alertname="${ALERT}"][data-failure-class="${FAILURE_CLASS}"]`;

interface PrometheusAlert {
  labels: Record<string, string>;
  state: string;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as T;
}

const isOurs = (labels: Record<string, string>) => labels.alertname === ALERT && labels.failure_class === FAILURE_CLASS;

/** Starts Prometheus and Alertmanager for this scenario's consumer and DLQ service; resolves to their URLs. */
async function startObservability(
  s: ScenarioContext,
  targets: { consumer: string; dlqService: string; alertsToken: string },
): Promise<{ prometheus: string; alertmanager: string }> {
  const binaries = await observabilityBinaries((line) => console.log(`   ${line}`));
  const dir = await mkdtemp(join(tmpdir(), `${s.lab.prefix}-observability-`));
  s.cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const rulesFile = join(dir, 'alerts.yml');
  await writeFile(rulesFile, hastenedRules(await readFile(RULES_FILE, 'utf8'), SPEEDUP));
  const [prometheusPort, alertmanagerPort] = [await freePort(), await freePort()];
  const addresses = {
    consumer: targets.consumer,
    'dlq-service': targets.dlqService,
    alertmanager: `127.0.0.1:${alertmanagerPort}`,
  };
  const commands = await prepareObservability(binaries, {
    dir,
    prometheusPort,
    alertmanagerPort,
    addresses,
    prometheus: { rulesFile, interval: '1s' },
    alertmanager: { token: targets.alertsToken, groupWait: '1s', groupInterval: '2s' },
  });
  for (const name of ['alertmanager', 'prometheus'] as const) {
    s.services.push({ name, process: s.lab.spawnCommand(commands[name].command, commands[name].args) });
  }
  const urls = {
    prometheus: `http://127.0.0.1:${prometheusPort}`,
    alertmanager: `http://127.0.0.1:${alertmanagerPort}`,
  };
  await waitUntil(
    'Prometheus and Alertmanager to be ready',
    async () => (await answersOk(`${urls.prometheus}/-/ready`)) && answersOk(`${urls.alertmanager}/-/ready`),
  );
  return urls;
}

/** The rows the dashboard's table shows: [class, ...] per row. */
function tableClasses(page: Page): Promise<string[]> {
  return page.$$eval('#rows tr', (rows) =>
    rows.map((row) => (row as HTMLTableRowElement).cells[2]?.textContent?.trim() ?? ''),
  );
}

export const alertScenario: Scenario = {
  name: 'alert',
  title: 'a burst of poison records fires the dead-letter-rate alert end to end within 90 s; it resolves after',
  async run(s) {
    const alertsToken = randomBytes(18).toString('base64url');
    const consumer = s.startConsumer();
    const dlq = await s.startDlqService({ DLQ_ALERTS_TOKEN: alertsToken });
    const { prometheus, alertmanager } = await startObservability(s, {
      consumer: `127.0.0.1:${await consumer.httpPort()}`,
      dlqService: new URL(dlq.baseUrl).host,
      alertsToken,
    });

    const scraped = await s.settle(
      'Prometheus to scrape the consumer and the DLQ service',
      async () =>
        (
          await getJson<{ data: { activeTargets: { labels: { job: string }; health: string }[] } }>(
            `${prometheus}/api/v1/targets`,
          )
        ).data.activeTargets
          .filter((target) => target.health === 'up')
          .map((target) => target.labels.job)
          .sort(),
      (jobs) => jobs.includes('consumer') && jobs.includes('dlq-service'),
    );
    s.equal('Prometheus scrapes the consumer and the DLQ service', scraped, ['consumer', 'dlq-service']);
    // A rate needs a sample before the burst: the class's counter, at 0 from the consumer's start, scraped twice.
    await waitUntil('Prometheus to hold two samples of the dead-letter counter', async () => {
      const query = `count_over_time(orders_dead_lettered_total{failure_class="${FAILURE_CLASS}"}[10s]) >= 2`;
      const { data } = await getJson<{ data: { result: unknown[] } }>(
        `${prometheus}/api/v1/query?${new URLSearchParams({ query })}`,
      );
      return data.result.length > 0;
    });

    const browser = await launchChromium();
    s.cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${dlq.baseUrl}/`);
    s.equal(`no ${ALERT} before the burst`, (await dlq.alerts()).filter((alert) => alert.name === ALERT).length, 0);

    const burstAt = Date.now();
    const seconds = () => (Date.now() - burstAt) / 1000;
    /** Polls a stage of the alert's way until it holds, by the deadline (seconds after the burst); records when. */
    const stage = async (name: string, deadlineS: number, holds: () => Promise<boolean>): Promise<number> => {
      const ok = await waitUntil(name, holds, Math.max(0, deadlineS * 1000 - (Date.now() - burstAt))).then(
        () => true,
        () => false,
      );
      const at = seconds();
      s.check(name, ok, ok ? `${at.toFixed(1)} s after the burst` : `not within ${deadlineS} s of the burst`);
      return at;
    };
    await s.lab.produce({ count: 5, poison: BURST });

    const prometheusFiring = async () =>
      (await getJson<{ data: { alerts: PrometheusAlert[] } }>(`${prometheus}/api/v1/alerts`)).data.alerts.some(
        (alert) => isOurs(alert.labels) && alert.state === 'firing',
      );
    await stage(`Prometheus: ${ALERT}{failure_class="${FAILURE_CLASS}"} fires`, FIRE_WITHIN_S, prometheusFiring);
    await stage('Alertmanager has it', FIRE_WITHIN_S, async () =>
      (
        await getJson<{ labels: Record<string, string>; status: { state: string } }[]>(
          `${alertmanager}/api/v2/alerts?active=true`,
        )
      ).some((alert) => isOurs(alert.labels) && alert.status.state === 'active'),
    );
    let listed: ActiveAlert | undefined;
    await stage('GET /alerts lists it (the webhook was called)', FIRE_WITHIN_S, async () => {
      listed = (await dlq.alerts()).find((alert) => isOurs(alert.labels));
      return listed !== undefined;
    });
    s.equal("the alert's DLQ filter is its failure class", listed?.dlqFilter, { failureClass: FAILURE_CLASS });
    const total = listed?.dlqUrl ? (await getJson<{ total: number }>(`${dlq.baseUrl}${listed.dlqUrl}`)).total : 0;
    s.equal("its dlqUrl finds the burst's records", total, BURST);
    const bannerAt = await stage(
      'the dashboard shows it as a banner',
      FIRE_WITHIN_S,
      async () => (await page.$(BANNER_LINK)) !== null,
    );
    s.check(`fires end to end within ${FIRE_WITHIN_S} s`, bannerAt <= FIRE_WITHIN_S, `${bannerAt.toFixed(1)} s`);

    await page.click(BANNER_LINK);
    const onlyTheClass = (classes: string[]) =>
      classes.length === BURST && classes.every((name) => name === FAILURE_CLASS);
    const shown = await s.settle(
      'the dashboard to show the records of the class',
      () => tableClasses(page),
      onlyTheClass,
    );
    s.check(
      'the banner opens the table filtered to the class',
      onlyTheClass(shown) && page.url().includes(FAILURE_CLASS),
      `${shown.length} rows (${[...new Set(shown)].join(', ')}) at ${page.url().replace(dlq.baseUrl, '')}`,
    );

    const resolveBy = seconds() + RESOLVE_WITHIN_S;
    await stage('Prometheus: it resolves after the burst', resolveBy, async () => !(await prometheusFiring()));
    await stage('GET /alerts no longer lists it', resolveBy, async () =>
      (await dlq.alerts()).every((alert) => !isOurs(alert.labels)),
    );
    await stage('the banner is gone', resolveBy, async () => (await page.$(BANNER_LINK)) === null);
  },
};

if (isMain(import.meta.url)) await main([alertScenario]);
