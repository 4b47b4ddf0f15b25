// Alertmanager's webhook on the real service, over real HTTP: POST /alerts
// takes a notification (its own token; a payload that is not Alertmanager's
// version 4 is a 400 that names what is wrong), GET /alerts lists what fires
// with the DLQ filter each alert maps to, and that filter finds the dead
// letters; a resolved notification clears its group.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Lab } from '../../scripts/harness/lab.ts';
import { DlqService, writeDeadLetters } from './dlq-service-app.ts';

const ALERTS_TOKEN = 'alerts-token-of-the-lab';
const startsAt = '2026-11-29T10:00:00.000Z';

function alert(status: 'firing' | 'resolved', labels: Record<string, string>) {
  return {
    status,
    labels: { severity: 'warning', ...labels },
    annotations: { summary: `${labels.alertname} summary`, description: `${labels.alertname} description` },
    startsAt,
    endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-29T10:05:00.000Z',
    generatorURL: 'http://prometheus:9090/graph',
    fingerprint: labels.alertname,
  };
}

function notification(groupKey: string, alerts: ReturnType<typeof alert>[]) {
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: alerts.some((one) => one.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'dlq-service',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts,
  };
}

describe('POST /alerts and GET /alerts', () => {
  const lab = new Lab();
  let service: DlqService;
  let poison: string[];

  before(async () => {
    await lab.start();
    poison = await writeDeadLetters(lab, [
      {
        partition: 0,
        key: 'poison-1',
        raw: Buffer.from('not avro'),
        context: { failureClass: 'undecodable', error: new Error('magic byte is 110, expected 0') },
      },
      {
        partition: 0,
        key: 'bad-price',
        order: { orderId: 'bad-price', product: 'mouse', price: -1 },
        context: { failureClass: 'invalid', error: new Error('price -1 is not positive') },
      },
    ]);
    service = await DlqService.start(lab, { DLQ_ALERTS_TOKEN: ALERTS_TOKEN });
  });
  after(async () => {
    await service?.close();
    await lab.stop();
  });

  const post = (body: unknown, token: string | null = ALERTS_TOKEN) =>
    service.request('POST', '/alerts', { body, token });

  it('lists the firing alerts, each with the DLQ filter it maps to, and that filter finds the records', async () => {
    const rate = alert('firing', { alertname: 'DeadLetterRateHigh', failure_class: 'undecodable' });
    const down = alert('firing', { alertname: 'ConsumerDown', instance: 'consumer:9464' });
    assert.deepEqual((await post(notification('{}:{alertname="DeadLetterRateHigh"}', [rate]))).body, {
      firing: 1,
      resolved: 0,
    });
    assert.equal((await post(notification('{}:{alertname="ConsumerDown"}', [down]))).status, 200);

    const { status, body } = await service.request('GET', '/alerts', { token: null });
    assert.equal(status, 200);
    assert.deepEqual(body.alerts.map((one: { name: string; dlqUrl: string | null }) => [one.name, one.dlqUrl]).sort(), [
      ['ConsumerDown', null],
      ['DeadLetterRateHigh', '/dlq?failureClass=undecodable'],
    ]);
    const rateAlert = body.alerts.find((one: { name: string }) => one.name === 'DeadLetterRateHigh');
    assert.deepEqual(rateAlert.dlqFilter, { failureClass: 'undecodable' });
    assert.equal(rateAlert.summary, 'DeadLetterRateHigh summary');
    assert.equal(rateAlert.severity, 'warning');
    const records = await service.request('GET', rateAlert.dlqUrl, { token: null });
    assert.deepEqual(
      records.body.items.map((item: { id: string }) => item.id),
      [poison[0]],
    );
  });

  it('drops an alert its group no longer reports as firing', async () => {
    const resolved = alert('resolved', { alertname: 'DeadLetterRateHigh', failure_class: 'undecodable' });
    assert.deepEqual((await post(notification('{}:{alertname="DeadLetterRateHigh"}', [resolved]))).body, {
      firing: 0,
      resolved: 1,
    });
    const { body } = await service.request('GET', '/alerts', { token: null });
    assert.deepEqual(
      body.alerts.map((one: { name: string }) => one.name),
      ['ConsumerDown'],
    );
  });

  it('needs DLQ_ALERTS_TOKEN: 401 without it or with another token', async () => {
    const body = notification('g', [alert('firing', { alertname: 'X' })]);
    const missing = await post(body, null);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'ALERTS_TOKEN_MISSING');
    const wrong = await post(body, 'a-token-that-is-not-it');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'ALERTS_TOKEN_WRONG');
    const apiToken = await service.request('POST', '/alerts', { body }); // DLQ_API_TOKEN
    assert.equal(apiToken.status, 401, 'the API token is not the alerts token');
  });

  it("refuses what is not Alertmanager's payload, naming what is wrong", async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...notification('g', []), version: '3' }, /version/],
      [{ ...notification('g', []), alerts: undefined }, /alerts/],
      [notification('g', [{ ...alert('firing', { alertname: 'X' }), status: 'burning' as 'firing' }]), /status/],
      [notification('g', [{ ...alert('firing', { alertname: 'X' }), startsAt: 'yesterday' }]), /startsAt/],
    ];
    for (const [body, names] of cases) {
      const response = await post(body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(response.body.message, names);
    }
  });

  it('answers 403 when the service has no alerts token, and guards the list with the read token', async () => {
    const other = await DlqService.start(lab, { DLQ_READ_TOKEN: 'read-token-0123456789' });
    try {
      const list = await other.request('GET', '/alerts', { token: null });
      assert.equal(list.status, 401);
      assert.equal(list.body.code, 'READ_TOKEN_MISSING');
      assert.equal((await other.request('GET', '/alerts', { token: 'read-token-0123456789' })).status, 200);
      const response = await other.request('POST', '/alerts', {
        body: notification('g', []),
        token: ALERTS_TOKEN,
      });
      assert.equal(response.status, 403);
      assert.equal(response.body.code, 'ALERTS_DISABLED');
      assert.match(response.body.message, /DLQ_ALERTS_TOKEN/);
    } finally {
      await other.close();
    }
  });

  it('documents both routes in the OpenAPI document', async () => {
    const { body } = await service.request('GET', '/openapi.json', { token: null });
    assert.deepEqual(Object.keys(body.paths['/alerts']).sort(), ['get', 'post']);
    assert.deepEqual(body.paths['/alerts'].post.security, [{ alertsToken: [] }]);
  });
});
