// The dashboard in a real headless Chromium (Debian's, driven by
// playwright-core): it shows a dead letter the test produced through the real
// pipeline, with the counts and the running average, filters it, and
// replaying it from the page (with the token typed into the dialog) works:
// the consumer processes the order and the page shows it. A dead letter cut
// to fit the DLQ topic is marked, and its replay button disabled saying why.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DLQ } from '../../services/lib/dlq.ts';
import { ValidationError } from '../../services/lib/errors.ts';
import type { GroundTruth } from '../../services/producer/producer.ts';
import { DlqService, TOKEN, writeDeadLetters } from './dlq-service-app.ts';
import { Lab, waitUntil } from '../../scripts/harness/lab.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? '/tmp';

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
    assert.ok(
      existsSync(CHROMIUM),
      `Chromium is needed at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
    );
    await lab.start();
    truth = await lab.produce({ count: 3, transient: 1, 'fail-times': 6 });
    orderId = truth.keys.transient[0]!;
    const consumer = lab.startConsumer();
    await waitUntil('the consumer to dead-letter the transient order', () => lab.drained(), 90_000).catch(
      consumer.rethrowWithOutput,
    );
    service = await DlqService.start(lab);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
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
