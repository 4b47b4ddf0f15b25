// The dashboard in a real headless Chromium (Debian's, driven by
// playwright-core): it shows a dead letter the test produced through the real
// pipeline, with the counts and the running average, filters it, and
// replaying it from the page (with the token typed into the dialog) works:
// the consumer processes the order and the page shows it. A dead letter cut
// to fit the DLQ topic is marked, and its replay button disabled saying why.
// The filters live in the URL; an alert about a failure class shows in the
// banner as a link to its dead letters, which the page then replays in bulk
// (alert, button, confirm: three clicks); the charts of the last hour draw
// what GET /stats/history answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/harness/browser.ts';
import { DLQ } from '../../services/lib/dlq.ts';
import { ValidationError } from '../../services/lib/errors.ts';
import type { GroundTruth } from '../../services/producer/producer.ts';
import { DlqService, TOKEN, writeDeadLetters } from './dlq-service-app.ts';
import { Lab, waitUntil } from '../../scripts/harness/lab.ts';

const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? '/tmp';
const ALERTS_TOKEN = 'alerts-token-of-the-dashboard-test';

describe('DLQ dashboard in Chromium', () => {
  const lab = new Lab({ MAX_RETRIES: '1', RETRY_BASE_MS: '50' });
  let truth: GroundTruth;
  let service: DlqService;
  let browser: Browser;
  let page: Page;
  let orderId: string;
  /** Errors the page logged: a content security policy that blocked something shows here. */
  const consoleErrors: string[] = [];

  before(async () => {
    // First: without Chromium nothing else is worth starting.
    browser = await launchChromium();
    await lab.start();
    truth = await lab.produce({ count: 3, transient: 1, 'fail-times': 6 });
    orderId = truth.keys.transient[0]!;
    const consumer = lab.startConsumer();
    await waitUntil('the consumer to dead-letter the transient order', () => lab.drained(), 90_000).catch(
      consumer.rethrowWithOutput,
    );
    service = await DlqService.start(lab, { DLQ_ALERTS_TOKEN: ALERTS_TOKEN });
    page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    // Every request the page makes must go to the service itself (no CDN): this one, which the page keeps
    // polling after the last test has started another.
    const origin = service.url;
    page.on('request', (request) => assert.ok(request.url().startsWith(origin), `the page requested ${request.url()}`));
  });

  after(async () => {
    await browser?.close();
    await service?.close();
    await lab.stop();
  });

  const row = () => page.locator('#rows tr', { hasText: orderId });

  it('shows the dead letter, the counts and the running average', async () => {
    await page.goto(service.url);
    await row().waitFor({ timeout: 15_000 });
    assert.match(await row().innerText(), /retries-exhausted/);
    assert.match(await row().innerText(), /downstream timed out/);
    await page.locator('#processed', { hasText: /^3$/ }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#dlq-total').innerText(), '1');
    assert.equal(await page.locator('#class-retries-exhausted').innerText(), '1');
    assert.match(await page.locator('#average').innerText(), /\$/);
    assert.match(await page.locator('#status').innerText(), /live/);
    await page.screenshot({ path: `${SCREENSHOTS}/dlq-dashboard.png`, fullPage: true });
    assert.deepEqual(consoleErrors, [], 'nothing blocked by the content security policy, nothing failed');
  });

  it('serves Swagger UI under a content security policy it passes', async () => {
    const docs = await browser.newPage();
    const errors: string[] = [];
    docs.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const response = await docs.goto(`${service.url}/docs/`);
    assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'self'/);
    await docs
      .locator('.swagger-ui .info .title', { hasText: 'kafka-orders DLQ service' })
      .waitFor({ timeout: 15_000 });
    await docs.close();
    assert.deepEqual(errors, []);
  });

  it('filters without a reload', async () => {
    await page.fill('#filter-text', 'no-such-order');
    await page.locator('#rows', { hasText: 'No dead letters match.' }).waitFor({ timeout: 10_000 });
    await page.fill('#filter-text', orderId.slice(0, 8));
    await row().waitFor({ timeout: 10_000 });
    await page.fill('#filter-text', '');
  });

  it('replays from the page with the token, and shows the order processed', async () => {
    await row().getByRole('button', { name: 'Replay' }).click();
    await page.locator('#replay-dialog[open]').waitFor();
    await page.fill('#replay-token', 'not-the-token-at-all');
    await page.click('#replay-submit');
    await page.locator('#replay-result', { hasText: 'not DLQ_API_TOKEN' }).waitFor({ timeout: 10_000 });

    await page.fill('#replay-token', TOKEN);
    await page.click('#replay-submit');
    await page.locator('#replay-result', { hasText: `Replayed to ${lab.topics.orders}` }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: `${SCREENSHOTS}/dlq-dashboard-replay.png` });
    await page.click('#replay-cancel');

    const [item] = (await service.get(`/dlq?orderId=${orderId}`)).body.items;
    assert.equal(item.replays, 1);
    await page.locator('#processed', { hasText: /^4$/ }).waitFor({ timeout: 60_000 });
    assert.equal(lab.stats().count, 4);
    await row().getByRole('button', { name: 'Replay again' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#dlq-replayed').innerText(), '1');
    await page.screenshot({ path: `${SCREENSHOTS}/dlq-dashboard-replayed.png`, fullPage: true });
  });

  it('marks dead letters cut to fit the DLQ topic, and disables replay of one no longer the original', async () => {
    const sha256 = 'abcd1234'.repeat(8);
    const error = new ValidationError('product is longer than 200 characters');
    await writeDeadLetters(lab, [
      {
        partition: 0,
        key: 'o-cut-value',
        raw: Buffer.alloc(64),
        context: { failureClass: 'invalid', error },
        truncation: {
          [DLQ.truncated]: 'stacktrace,value',
          [DLQ.originalValueBytes]: '1048000',
          [DLQ.originalValueSha256]: sha256,
        },
      },
      {
        partition: 1,
        key: 'o-cut-stack',
        order: { orderId: 'o-cut-stack', product: 'mouse', price: -1 },
        context: { failureClass: 'invalid', error },
        truncation: { [DLQ.truncated]: 'stacktrace' },
      },
    ]);
    const cutValue = page.locator('#rows tr', { hasText: 'o-cut-value' });
    await cutValue.waitFor({ timeout: 15_000 });
    const mark = await cutValue.locator('.truncated').innerText();
    assert.equal(mark, 'truncated: stacktrace, value (1,048,000 bytes, sha256 abcd1234…)');
    const button = cutValue.getByRole('button', { name: 'Replay' });
    assert.equal(await button.isDisabled(), true);
    const title = await button.getAttribute('title');
    assert.match(title ?? '', new RegExp(`^Not replayable: .*value \\(1,048,000 bytes, sha256 ${sha256}\\)`));

    const cutStack = page.locator('#rows tr', { hasText: 'o-cut-stack' });
    assert.equal(await cutStack.locator('.truncated').innerText(), 'truncated: stacktrace');
    assert.equal(await cutStack.getByRole('button', { name: 'Replay' }).isEnabled(), true);
    await page.screenshot({ path: `${SCREENSHOTS}/dlq-dashboard-truncated.png`, fullPage: true });
  });
  it('opens with the filters of its URL, and keeps the URL in step with the filters', async () => {
    await page.goto(`${service.url}/?failureClass=invalid&replayed=false`);
    await page.locator('#rows tr', { hasText: 'o-cut-stack' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#filter-class').inputValue(), 'invalid');
    assert.equal(await page.locator('#filter-replayed').inputValue(), 'false');
    assert.equal(await row().count(), 0, 'the retries-exhausted dead letter is not shown');

    const text = orderId.slice(0, 8);
    await page.selectOption('#filter-class', 'retries-exhausted');
    await page.selectOption('#filter-replayed', 'true');
    await page.fill('#filter-text', text);
    await row().waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).search, `?q=${text}&failureClass=retries-exhausted&replayed=true`);
    await page.reload();
    await row().waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#filter-text').inputValue(), text, 'a reload opens the same view');
    assert.equal(await page.locator('#rows tr').count(), 1);

    for (const id of ['#filter-class', '#filter-replayed']) await page.selectOption(id, '');
    await page.fill('#filter-text', '');
    assert.equal(new URL(page.url()).search, '');
    await page.locator('#rows tr', { hasText: 'o-cut-stack' }).waitFor({ timeout: 10_000 });
  });

  it('shows an alert about a class as a link to its dead letters, and replays them in three clicks', async () => {
    const [poison] = await writeDeadLetters(lab, [
      {
        partition: 0,
        key: 'poison-of-the-banner',
        raw: Buffer.from('not avro at all'),
        context: { failureClass: 'undecodable', error: new Error('magic byte is 110, expected 0') },
      },
    ]);
    const alert = (status: 'firing' | 'resolved', labels: Record<string, string>, summary: string) => ({
      status,
      labels: { severity: 'warning', ...labels },
      annotations: { summary, description: `${labels.alertname}: what to look at` },
      startsAt: new Date().toISOString(),
      endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : new Date().toISOString(),
    });
    const notify = async (groupKey: string, alerts: ReturnType<typeof alert>[]) => {
      const body = {
        version: '4',
        groupKey,
        status: alerts.some((one) => one.status === 'firing') ? 'firing' : 'resolved',
        receiver: 'dlq-service',
        alerts,
      };
      assert.equal((await service.request('POST', '/alerts', { body, token: ALERTS_TOKEN })).status, 200);
    };
    const rate = { alertname: 'DeadLetterRateHigh', failure_class: 'undecodable' };
    const down = { alertname: 'ConsumerDown', instance: 'consumer:9464' };
    await notify('rate', [alert('firing', rate, 'undecodable orders are dead-lettered at 2 a minute')]);
    await notify('down', [alert('firing', down, 'the consumer is down')]);

    await page.goto(service.url);
    const link = page.locator(
      '#alert-banner a.alert[data-alertname="DeadLetterRateHigh"][data-failure-class="undecodable"]',
    );
    await link.waitFor({ timeout: 10_000 });
    assert.equal(await link.getAttribute('href'), '/?failureClass=undecodable');
    assert.match(await link.innerText(), /undecodable orders are dead-lettered at 2 a minute/);
    const plain = page.locator('#alert-banner span.alert[data-alertname="ConsumerDown"]');
    assert.match(await plain.innerText(), /the consumer is down/);
    assert.equal(await plain.getAttribute('data-failure-class'), null);
    await page.screenshot({ path: `${SCREENSHOTS}/dlq-dashboard-alerts.png`, fullPage: true });

    await link.click(); // 1
    await page.locator('#shown', { hasText: 'showing 1 of 1' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#filter-class').inputValue(), 'undecodable');
    assert.equal(new URL(page.url()).search, '?failureClass=undecodable');
    assert.deepEqual(await page.locator('#rows tr .class').allInnerTexts(), ['undecodable']);

    await page.click('#bulk-replay'); // 2
    await page.locator('#bulk-dialog[open]').waitFor();
    assert.equal(await page.inputValue('#bulk-token'), TOKEN, 'the token the tab replayed with before');
    assert.equal(await page.locator('#bulk-filter').innerText(), 'failureClass = undecodable');
    await page.locator('#bulk-preview', { hasText: 'Matching: 1. To replay: 1.' }).waitFor({ timeout: 10_000 });
    await page.click('#bulk-submit:has-text("Replay 1")'); // 3
    await page.locator('#bulk-result[data-outcome="ok"]', { hasText: 'Replayed 1, failed 0.' }).waitFor({
      timeout: 15_000,
    });
    await page.screenshot({ path: `${SCREENSHOTS}/dlq-dashboard-bulk-replay.png` });
    await page.click('#bulk-cancel');
    assert.equal((await service.get(`/dlq/${poison}`)).body.replays, 1);
    // The consumer cannot decode it any better now: it is dead-lettered again, as a replay.
    await waitUntil(
      'the replayed record to be dead-lettered again',
      async () => (await service.get('/dlq?q=poison-of-the-banner')).body.total === 2,
      60_000,
    );

    await notify('rate', [alert('resolved', rate, 'resolved')]);
    await page.locator('#alert-banner a.alert').waitFor({ state: 'detached', timeout: 10_000 });
    await notify('down', [alert('resolved', down, 'resolved')]);
    await page.locator('#alert-banner').waitFor({ state: 'hidden', timeout: 10_000 });
  });

  it('charts the last hour with the series GET /stats/history answers', async () => {
    const charts = ['chart-dead-letters', 'chart-orders', 'chart-average'];
    const seconds = (times: string[]) => times.map((time) => Date.parse(time) / 1000);
    // The page polls: what it drew last may be a bucket behind what the API answers now, until the next poll.
    const history = await waitUntil(
      'the charts to draw what GET /stats/history answers',
      async () => {
        const { drawn, api } = await page.evaluate(async (ids) => {
          const answer = await fetch('/stats/history');
          const plots = ids.map((id) => (document.getElementById(id) as any).uplot);
          return {
            api: await answer.json(),
            drawn: plots.map((plot) => ({ labels: plot.series.slice(1).map((s: any) => s.label), data: plot.data })),
          };
        }, charts);
        // Dead letters are stacked bars: per class, the sum of it and the classes before it, the largest first.
        const classes = Object.keys(api.deadLetters.byFailureClass);
        let running = new Array(60).fill(0);
        const stacked = classes.map((name) => {
          running = running.map((sum, i) => sum + api.deadLetters.byFailureClass[name][i]);
          return running;
        });
        const times = seconds(api.orders.times);
        assert.deepEqual(drawn, [
          { labels: classes.toReversed(), data: [seconds(api.deadLetters.minutes), ...stacked.toReversed()] },
          { labels: ['orders/s'], data: [times, api.orders.perSecond] },
          { labels: ['average'], data: [times, api.orders.average] },
        ]);
        return api;
      },
      15_000,
    );
    const sum = (values: (number | null)[]) => values.reduce((total: number, n) => total + (n ?? 0), 0);
    const { invalid, 'retries-exhausted': exhausted, undecodable } = history.deadLetters.byFailureClass;
    assert.deepEqual([sum(invalid), sum(exhausted), sum(undecodable)], [2, 1, 2], 'every dead letter of this test');
    // Orders counted: the replayed one, and those of commits the service read after the first of their partition
    // (the first is where a partition's history starts); dlq-service-history.test.ts counts them exactly.
    const counted = Math.round(sum(history.orders.perSecond) * 10);
    assert.ok(counted >= 1 && counted <= lab.stats().count, `${counted} orders counted in the last hour`);
    assert.equal(history.orders.average.at(-1), (await service.get('/stats/orders')).body.average);

    // Each series with something to show is drawn: the canvas has pixels of its color. A line's edges are
    // anti-aliased (partly transparent): pixels count by their opacity.
    const colors = { invalid: '--invalid', 'retries-exhausted': '--retries', undecodable: '--undecodable' };
    const drawnIn = (chart: string, variable: string) =>
      page.evaluate(
        ([id, name]) => {
          const hex = getComputedStyle(document.documentElement).getPropertyValue(name!).trim();
          const rgb = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
          const canvas = document.querySelector(`#${id} canvas`) as HTMLCanvasElement;
          const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
          let pixels = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3]! > 32 && rgb.every((value, c) => Math.abs(data[i + c]! - value) < 24)) {
              pixels += data[i + 3]! / 255;
            }
          }
          return pixels;
        },
        [chart, variable],
      );
    for (const [name, variable] of Object.entries(colors)) {
      assert.ok((await drawnIn('chart-dead-letters', variable)) > 20, `the ${name} band is drawn`);
    }
    assert.ok((await drawnIn('chart-orders', '--accent')) > 20, 'the orders per second are drawn');
    assert.ok((await drawnIn('chart-average', '--ok')) > 20, 'the running average is drawn');
    await page.screenshot({ path: `${SCREENSHOTS}/dlq-dashboard-charts.png`, fullPage: true });
    // The one error expected: the wrong token typed in the replay test, answered 401.
    const unexpected = consoleErrors.filter((text) => !text.includes('status of 401'));
    assert.deepEqual(unexpected, [], 'nothing blocked by the content security policy, nothing failed');
  });

  it('with a read token, asks for it once, and marks a record Kafka no longer holds as archive only', async () => {
    const archive = (await service.get('/dlq?q=o-cut-value')).body.items[0];
    assert.equal(archive?.inKafka, true);
    await service.close();
    // Kafka's retention, as it would act on old segments: partition 0 of the DLQ topic loses what it holds.
    await lab.admin.fetchTopicMetadata({ topics: [lab.topics.dlq] });
    const [end] = (await lab.admin.fetchTopicOffsets(lab.topics.dlq)).filter(({ partition }) => partition === 0);
    await lab.admin.deleteTopicRecords({ topic: lab.topics.dlq, partitions: [{ partition: 0, offset: end!.high }] });
    const readToken = 'read-token-0123456789';
    service = await DlqService.start(lab, { DLQ_READ_TOKEN: readToken });
    assert.equal((await service.get('/dlq')).status, 401, 'reads need the token now');

    const guarded = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    await guarded.goto(service.url);
    await guarded.locator('#read-dialog[open]').waitFor({ timeout: 10_000 });
    await guarded.fill('#read-token', 'not-the-read-token');
    await guarded.click('#read-submit');
    await guarded.locator('#read-result', { hasText: 'That token was refused' }).waitFor({ timeout: 10_000 });
    await guarded.fill('#read-token', readToken);
    await guarded.click('#read-submit');
    const cutValue = guarded.locator('#rows tr', { hasText: 'o-cut-value' });
    await cutValue.waitFor({ timeout: 15_000 });
    assert.equal(await cutValue.locator('.archived').innerText(), 'archive only');
    assert.equal(await guarded.locator('#rows tr', { hasText: 'o-cut-stack' }).locator('.archived').count(), 0);
    await guarded.screenshot({ path: `${SCREENSHOTS}/dlq-dashboard-archive-only.png`, fullPage: true });

    await guarded.reload();
    await cutValue.waitFor({ timeout: 15_000 });
    assert.equal(await guarded.locator('#read-dialog[open]').count(), 0, 'asked once per tab');
    await guarded.close();
  });
});
