// The DLQ service's API against a real broker, registry and HTTP server, on
// dead letters of known content written in the consumer's format: every
// route's happy path, 400s that name the parameter, 401/403, 404, replay
// (one, bulk, dry run, idempotence, loop guard), the OpenAPI document, the
// token never logged, and a rebuild of the index from Kafka on restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { DLQ, DLT, REPLAY } from '../../services/lib/dlq.ts';
import { TransientError, UndecodableError, ValidationError } from '../../services/lib/errors.ts';
import { readSchemaFile, Serde } from '../../services/lib/serde.ts';
import { valueSubject } from '../../services/lib/topics.ts';
import { DlqService, TOKEN, writeDeadLetters, type SyntheticDeadLetter } from './dlq-service-app.ts';
import { Lab } from '../../scripts/harness/lab.ts';

const MINUTE = 60_000;
const now = Date.now();
const ago = (minutes: number) => new Date(now - minutes * MINUTE);
const iso = (minutes: number) => ago(minutes).toISOString();
const invalid = (message: string, minutes: number) => ({
  failureClass: 'invalid' as const,
  error: new ValidationError(message),
  failedAt: ago(minutes),
});

// Newest first, as GET /dlq lists them: N (no dead-letter headers, so its
// time is the record's own timestamp), U, M6..M1, D, C, B, F, A.
const records: Record<string, SyntheticDeadLetter> = {
  A: {
    partition: 0,
    key: 'o-a',
    order: { orderId: 'o-a', product: 'keyboard', price: -5 },
    context: invalid('price -5 is not positive', 50),
  },
  B: {
    partition: 1,
    key: 'o-b',
    order: { orderId: 'o-b', product: 'mouse', price: 12.5 },
    headers: { 'x-fault-transient': '9', traceparent: '00-abc' },
    context: {
      failureClass: 'retries-exhausted',
      error: new TransientError('downstream timed out for order o-b'),
      attempts: 4,
      failedAt: ago(40),
    },
  },
  F: {
    partition: 1,
    key: 'o-f',
    order: { orderId: 'o-f', product: 'dock', price: Number.NaN },
    context: invalid('price NaN is not a finite number', 45),
  },
  C: {
    partition: 2,
    key: 'poison-c',
    raw: Buffer.from('{"orderId":"poison-c"}'),
    context: {
      failureClass: 'undecodable',
      error: new UndecodableError('bad-magic-byte', 'magic byte is 123, expected 0'),
      failedAt: ago(30),
    },
  },
  D: {
    partition: 0,
    key: 'o-d',
    order: { orderId: 'o-d', product: 'keyboard', price: 0 },
    headers: { [REPLAY.count]: '3' },
    context: invalid('price 0 is not positive', 20),
  },
  ...Object.fromEntries(
    [1, 2, 3, 4, 5, 6].map((i) => [
      `M${i}`,
      {
        partition: 1 + (i % 2),
        key: `o-m${i}`,
        order: { orderId: `o-m${i}`, product: 'monitor', price: -i },
        context: invalid(`price -${i} is not positive`, 16 - i),
      },
    ]),
  ),
  U: {
    partition: 2,
    key: 'poison-u',
    raw: Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 2, 0x61]),
    context: {
      failureClass: 'undecodable',
      error: new UndecodableError('unknown-schema-id', 'schema id 2147483632 is not known to the registry'),
      failedAt: ago(5),
    },
  },
  N: { partition: 0, key: 'o-n', order: { orderId: 'o-n', product: 'chair', price: 10 } },
};
const NEWEST_FIRST = ['N', 'U', 'M6', 'M5', 'M4', 'M3', 'M2', 'M1', 'D', 'C', 'B', 'F', 'A'];
const REPLAY_BATCH_MAX = 50;

describe('DLQ service API', () => {
  const lab = new Lab();
  const id: Record<string, string> = {};
  let service: DlqService;
  let readOnly: DlqService;
  const names = (items: { id: string }[]) =>
    items.map((item) => Object.keys(id).find((name) => id[name] === item.id) ?? item.id);

  before(async () => {
    await lab.start();
    const written = await writeDeadLetters(lab, Object.values(records));
    for (const [i, name] of Object.keys(records).entries()) id[name] = written[i]!;
    service = await DlqService.start(lab, { DLQ_REPLAY_BATCH_MAX: String(REPLAY_BATCH_MAX) });
    readOnly = await DlqService.start(lab, { DLQ_API_TOKEN: '', DLQ_DB_PATH: `${lab.dlqArchive}.read-only` });
  });

  after(async () => {
    await service?.close();
    await readOnly?.close();
    await lab.stop();
  });

  /** Asserts a 400 whose message names the parameter. */
  async function badRequest(response: Promise<{ status: number; body: any }>, parameter: string) {
    const { status, body } = await response;
    assert.equal(status, 400, JSON.stringify(body));
    assert.match(body.message, new RegExp(`"${parameter}"`), `the message names ${parameter}: ${body.message}`);
  }

  describe('GET /dlq', () => {
    it('lists every dead letter newest first, with origin, order and reason', async () => {
      const { status, body } = await service.get('/dlq');
      assert.equal(status, 200);
      assert.equal(body.total, 13);
      assert.deepEqual(names(body.items), NEWEST_FIRST);
      assert.equal(body.nextCursor, null);
      const b = body.items.find((item: any) => item.id === id.B);
      assert.match(b.id, /^\d+-\d+$/);
      assert.equal(b.failureClass, 'retries-exhausted');
      assert.equal(b.exceptionClass, 'TransientError');
      assert.equal(b.message, 'downstream timed out for order o-b');
      assert.equal(b.attempts, 4);
      assert.deepEqual([b.orderId, b.product, b.price, b.key], ['o-b', 'mouse', 12.5, 'o-b']);
      assert.deepEqual(b.origin, {
        topic: lab.topics.orders,
        partition: 1,
        offset: '1001',
        timestamp: b.origin.timestamp,
      });
      assert.equal(b.failedAt, iso(40));
      assert.equal(b.replays, 0);
      const a = body.items.find((item: any) => item.id === id.A);
      assert.equal(a.reason, 'price <n> is not positive');
    });

    it('filters by class, product, orderId, reason text, free text, time range and replayed', async () => {
      const total = async (query: string) => (await service.get(`/dlq?${query}`)).body.total;
      assert.equal(await total('failureClass=invalid'), 9);
      assert.equal(await total('failureClass=undecodable'), 2);
      assert.equal(await total('failureClass=retries-exhausted'), 1);
      assert.equal(await total('product=monitor'), 6);
      assert.equal(await total('orderId=o-a'), 1);
      assert.equal(await total('reason=NOT%20POSITIVE'), 8);
      assert.equal(await total('reason=NOT%20POSITIVE&product=keyboard'), 2);
      assert.equal(await total('q=mouse'), 1);
      assert.equal(await total('q=poison-c'), 1, 'free text finds an undecodable record by its key');
      assert.equal(await total('q=registry'), 1);
      assert.equal(await total(`from=${iso(35)}&to=${iso(13)}`), 4, 'C, D, M1, M2 (to is exclusive)');
      assert.equal(await total(`from=${iso(15)}`), 8);
      assert.equal(await total('replayed=false'), 13);
      assert.equal(await total('replayed=true'), 0);
      const { body } = await service.get(`/dlq?product=monitor&from=${iso(14)}`);
      assert.deepEqual(names(body.items), ['M6', 'M5', 'M4', 'M3', 'M2']);
    });

    it('pages with an opaque cursor until nextCursor is null', async () => {
      const first = await service.get('/dlq?limit=5');
      assert.deepEqual(names(first.body.items), NEWEST_FIRST.slice(0, 5));
      assert.equal(first.body.total, 13);
      assert.match(first.body.nextCursor, /^[A-Za-z0-9_-]+$/);
      const second = await service.get(`/dlq?limit=5&cursor=${first.body.nextCursor}`);
      assert.deepEqual(names(second.body.items), NEWEST_FIRST.slice(5, 10));
      const third = await service.get(`/dlq?limit=5&cursor=${second.body.nextCursor}`);
      assert.deepEqual(names(third.body.items), NEWEST_FIRST.slice(10));
      assert.equal(third.body.nextCursor, null);
      assert.deepEqual(names(await service.listAll('failureClass=invalid', 3)), [
        'M6',
        'M5',
        'M4',
        'M3',
        'M2',
        'M1',
        'D',
        'F',
        'A',
      ]);
    });

    it('answers 400 naming the parameter for every bad one', async () => {
      await badRequest(service.get('/dlq?limit=0'), 'limit');
      await badRequest(service.get('/dlq?limit=501'), 'limit');
      await badRequest(service.get('/dlq?limit=ten'), 'limit');
      await badRequest(service.get('/dlq?limit=1&limit=2'), 'limit');
      await badRequest(service.get('/dlq?failureClass=fatal'), 'failureClass');
      await badRequest(service.get('/dlq?from=yesterday'), 'from');
      await badRequest(service.get('/dlq?to=2026-13-45T00:00:00Z'), 'to');
      await badRequest(service.get(`/dlq?from=${iso(1)}&to=${iso(2)}`), 'from');
      await badRequest(service.get('/dlq?replayed=maybe'), 'replayed');
      await badRequest(service.get('/dlq?reason='), 'reason');
      await badRequest(service.get(`/dlq?q=${'x'.repeat(201)}`), 'q');
      await badRequest(service.get('/dlq?cursor=abc'), 'cursor');
      await badRequest(service.get('/dlq?cursor=a%2Bb'), 'cursor');
      await badRequest(service.get('/dlq?prodcut=monitor'), 'prodcut');
    });
  });

  describe('GET /dlq/stats', () => {
    it('counts by class, product and reason, per minute over the last hour, oldest and newest', async () => {
      const { status, body } = await service.get('/dlq/stats');
      assert.equal(status, 200);
      assert.equal(body.total, 13);
      assert.deepEqual(body.byFailureClass, { invalid: 9, 'retries-exhausted': 1, undecodable: 2, '(none)': 1 });
      assert.deepEqual(body.byProduct, { keyboard: 2, dock: 1, mouse: 1, monitor: 6, chair: 1, '(none)': 2 });
      assert.deepEqual(body.byReason[0], { reason: 'price <n> is not positive', count: 8 });
      assert.ok(body.byReason.some((r: any) => r.reason === 'price <n> is not a finite number' && r.count === 1));
      assert.equal(body.perMinute.length, 60);
      assert.equal(
        body.perMinute.reduce((sum: number, bucket: any) => sum + bucket.count, 0),
        13,
        'every record is within the last hour',
      );
      assert.equal(body.oldest, iso(50));
      assert.ok(Date.parse(body.newest) >= now - MINUTE);
    });

    it('takes the list filters', async () => {
      const { body } = await service.get('/dlq/stats?product=monitor');
      assert.equal(body.total, 6);
      assert.deepEqual(body.byFailureClass, { invalid: 6 });
      await badRequest(service.get('/dlq/stats?failureClass=x'), 'failureClass');
      await badRequest(service.get('/dlq/stats?limit=5'), 'limit');
    });
  });

  describe('GET /dlq/{id}', () => {
    it('shows the decoded order, original bytes, origin, every header and the replay history', async () => {
      const { status, body } = await service.get(`/dlq/${id.A}`);
      assert.equal(status, 200);
      assert.deepEqual(body.order, records.A!.order);
      const serde = new Serde(lab.infra.registryUrl);
      const schemaId = await serde.register(
        await readSchemaFile('schemas/order.avsc'),
        valueSubject(lab.topics.orders),
      );
      assert.equal(body.schemaId, schemaId);
      assert.equal(body.value, (await serde.encode(schemaId, records.A!.order)).toString('base64'));
      assert.equal(body.keyBase64, Buffer.from('o-a').toString('base64'));
      assert.equal(body.headers[DLT.originalTopic], lab.topics.orders);
      assert.equal(body.headers[DLT.exceptionFqcn], 'ValidationError');
      assert.equal(body.headers[DLQ.failureClass], 'invalid');
      assert.equal(body.headers[DLQ.failedAt], iso(50));
      assert.equal(body.consumerGroup, lab.group);
      assert.match(body.stacktrace, /^ValidationError: price -5 is not positive\n\s+at /);
      assert.equal(body.headers[DLT.exceptionStacktrace], body.stacktrace);
      assert.deepEqual(body.replayState, { count: 0, history: [] });
    });

    it('keeps the original headers, and says why a value does not decode', async () => {
      const b = (await service.get(`/dlq/${id.B}`)).body;
      assert.equal(b.headers['x-fault-transient'], '9');
      assert.equal(b.headers.traceparent, '00-abc');
      const c = (await service.get(`/dlq/${id.C}`)).body;
      assert.equal(c.order, null);
      assert.equal(c.value, records.C!.raw!.toString('base64'));
      assert.equal(c.undecodable.reason, 'bad-magic-byte');
      const u = (await service.get(`/dlq/${id.U}`)).body;
      assert.equal(u.undecodable.reason, 'unknown-schema-id');
      const n = (await service.get(`/dlq/${id.N}`)).body;
      assert.equal(n.failureClass, null);
      assert.equal(n.origin, null);
      assert.deepEqual(n.headers, {}, 'a record without dead-letter headers shows none');
      assert.equal(n.product, 'chair');
      const f = (await service.get(`/dlq/${id.F}`)).body;
      assert.equal(f.price, null, 'JSON has no NaN');
      assert.deepEqual(f.order, { orderId: 'o-f', product: 'dock', price: 'NaN' });
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      const missing = await service.get('/dlq/0-999999');
      assert.equal(missing.status, 404);
      assert.match(missing.body.message, /0-999999/);
      await badRequest(service.get('/dlq/abc'), 'id');
      await badRequest(service.get('/dlq/1-2-3'), 'id');
      await badRequest(service.get('/dlq/1-99999999999999999'), 'id');
    });
  });

  describe('authorization', () => {
    it('answers 401 without a token or with a wrong one, on both replay routes, before anything else', async () => {
      for (const path of [`/dlq/${id.B}/replay`, '/dlq/replay', '/dlq/0-999999/replay']) {
        const missing = await service.post(path, {}, null);
        assert.equal(missing.status, 401, path);
        assert.equal(missing.body.code, 'TOKEN_MISSING');
        assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.equal((await service.post(path, {}, 'wrong-token-0123456789')).status, 401);
        assert.equal(
          (await service.request('POST', path, { body: {}, token: null, headers: { authorization: `Basic ${TOKEN}` } }))
            .status,
          401,
        );
        assert.equal((await service.post(path, {}, `${TOKEN}x`)).status, 401);
      }
    });

    it('answers 403 saying how to enable replays when no token is configured', async () => {
      for (const path of [`/dlq/${id.B}/replay`, '/dlq/replay']) {
        const { status, body } = await readOnly.post(path, {});
        assert.equal(status, 403);
        assert.equal(body.code, 'READ_ONLY');
        assert.match(body.message, /DLQ_API_TOKEN/);
        assert.match(body.message, /Authorization: Bearer/);
      }
      assert.equal((await readOnly.get('/dlq')).body.total, 13, 'reads work without a token');
    });
  });

  describe('POST /dlq/{id}/replay', () => {
    let first: any;

    it('publishes the original key, value and headers to the original partition, marked as a replay', async () => {
      const { status, body } = await service.post(`/dlq/${id.B}/replay`);
      assert.equal(status, 200, JSON.stringify(body));
      first = body;
      assert.equal(body.id, id.B);
      assert.equal(body.replayCount, 1);
      assert.equal(body.target.topic, lab.topics.orders);
      assert.equal(body.target.partition, 1);
      assert.equal(body.replayState.count, 1);
      const replayed = (await lab.readAll(lab.topics.orders)).filter(
        ({ message }) => message.key?.toString() === 'o-b',
      );
      assert.equal(replayed.length, 1);
      const [{ partition, message }] = replayed as [(typeof replayed)[number]];
      assert.equal(partition, 1);
      assert.equal(message.offset, body.target.offset);
      const detail = (await service.get(`/dlq/${id.B}`)).body;
      assert.equal(message.value!.toString('base64'), detail.value, 'the original bytes');
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
      );
      assert.equal(headers['x-fault-transient'], '9');
      assert.equal(headers.traceparent, '00-abc');
      assert.equal(headers[REPLAY.count], '1');
      assert.equal(headers[REPLAY.from], id.B);
      assert.equal(headers[REPLAY.at], body.replayState.history[0].at);
      assert.deepEqual(
        Object.keys(headers).filter((name) => name.startsWith('kafka_dlt-') || name.startsWith('x-dlq-')),
        [],
      );
    });

    it('marks the record replayed, with its history', async () => {
      const { body } = await service.get(`/dlq/${id.B}`);
      assert.equal(body.replays, 1);
      assert.equal(body.lastReplayAt, first.replayState.history[0].at);
      assert.deepEqual(body.replayState.history, [
        {
          ...first.replayState.history[0],
          replayCount: 1,
          topic: lab.topics.orders,
          partition: 1,
          offset: first.target.offset,
        },
      ]);
      assert.deepEqual(names((await service.get('/dlq?replayed=true')).body.items), ['B']);
    });

    it('does nothing the second time and says so (409), unless forced', async () => {
      const again = await service.post(`/dlq/${id.B}/replay`, {});
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'ALREADY_REPLAYED');
      assert.match(again.body.message, /already replayed 1 time/);
      assert.equal(
        (await lab.readAll(lab.topics.orders)).filter(({ message }) => message.key?.toString() === 'o-b').length,
        1,
        'nothing was published',
      );
      const forced = await service.post(`/dlq/${id.B}/replay`, { force: true });
      assert.equal(forced.status, 200);
      assert.equal(forced.body.replayCount, 2);
      assert.equal(forced.body.replayState.count, 2);
    });

    it('refuses past DLQ_MAX_REPLAYS, even with force (loop guard)', async () => {
      for (const body of [{}, { force: true }]) {
        const { status, body: answer } = await service.post(`/dlq/${id.D}/replay`, body);
        assert.equal(status, 409);
        assert.equal(answer.code, 'MAX_REPLAYS');
        assert.match(answer.message, /DLQ_MAX_REPLAYS \(3\)/);
      }
    });

    it('answers 422 for a record that does not say where it came from, 404 for an unknown id', async () => {
      const { status, body } = await service.post(`/dlq/${id.N}/replay`);
      assert.equal(status, 422);
      assert.equal(body.code, 'NO_ORIGIN');
      assert.equal((await service.post('/dlq/0-999999/replay')).status, 404);
    });

    it('answers 400 naming the body property for a bad body', async () => {
      await badRequest(service.post(`/dlq/${id.A}/replay`, { force: 'yes' }), 'force');
      await badRequest(service.post(`/dlq/${id.A}/replay`, { forse: true }), 'forse');
      // JSON has types: nothing in a body is coerced (null is not false, "true" is not true).
      await badRequest(service.post(`/dlq/${id.A}/replay`, { force: null }), 'force');
      await badRequest(service.post(`/dlq/${id.A}/replay`, { force: 'true' }), 'force');
      await badRequest(service.post('/dlq/nope/replay', {}), 'id');
      const malformed = await service.request('POST', `/dlq/${id.A}/replay`, {
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(malformed.status, 400);
    });
  });

  describe('POST /dlq/replay', () => {
    it('dry run: what would be replayed (oldest first) and a histogram of reasons, changing nothing', async () => {
      const { status, body } = await service.post('/dlq/replay', { product: 'monitor', limit: 4, dryRun: true });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.dryRun, true);
      assert.equal(body.matched, 6);
      assert.equal(body.selected, 4);
      assert.equal(body.replayed, 4);
      assert.deepEqual(names(body.ids.map((i: string) => ({ id: i }))), ['M1', 'M2', 'M3', 'M4']);
      assert.deepEqual(body.reasons, [{ reason: 'price <n> is not positive', count: 4 }]);
      assert.equal((await service.get('/dlq?product=monitor&replayed=true')).body.total, 0);
    });

    it('replays by filter, skipping what was replayed before unless forced', async () => {
      const first = await service.post('/dlq/replay', { product: 'monitor', limit: 4 });
      assert.equal(first.status, 200);
      assert.equal(first.body.replayed, 4);
      assert.deepEqual(names(first.body.ids.map((i: string) => ({ id: i }))), ['M1', 'M2', 'M3', 'M4']);
      const second = await service.post('/dlq/replay', { product: 'monitor' });
      assert.equal(second.body.matched, 6);
      assert.equal(second.body.replayed, 2);
      assert.deepEqual(names(second.body.ids.map((i: string) => ({ id: i }))), ['M5', 'M6']);
      assert.deepEqual(
        second.body.skipped.map((s: any) => s.code),
        Array(4).fill('already-replayed'),
      );
      const replayedMonitors = (await lab.readAll(lab.topics.orders)).filter(({ message }) =>
        message.key?.toString().startsWith('o-m'),
      );
      assert.equal(replayedMonitors.length, 6, 'each monitor order published once');
      assert.deepEqual(names(await service.listAll('replayed=true')), ['M6', 'M5', 'M4', 'M3', 'M2', 'M1', 'B']);
      assert.equal((await service.get('/dlq?replayed=false')).body.total, 6);
    });

    it('answers 400 naming the body property, and 413 for a body past the limit', async () => {
      await badRequest(service.post('/dlq/replay', { limit: 0 }), 'limit');
      await badRequest(service.post('/dlq/replay', { limit: REPLAY_BATCH_MAX + 1 }), 'limit');
      await badRequest(service.post('/dlq/replay', { dryRun: 'perhaps' }), 'dryRun');
      await badRequest(service.post('/dlq/replay', { limit: '5' }), 'limit');
      await badRequest(service.post('/dlq/replay', { dryRun: 0 }), 'dryRun');
      const noBody = await service.request('POST', '/dlq/replay');
      assert.equal(noBody.status, 400, `a bulk replay without a body: ${JSON.stringify(noBody.body)}`);
      await badRequest(service.post('/dlq/replay', { failureClass: 'fatal' }), 'failureClass');
      await badRequest(service.post('/dlq/replay', { from: iso(1), to: iso(2) }), 'from');
      await badRequest(service.post('/dlq/replay', { everything: true }), 'everything');
      assert.equal((await service.post('/dlq/replay', { reason: 'x'.repeat(20_000) })).status, 413);
    });
  });

  describe('GET /stats/orders, /health, /ready, /metrics', () => {
    it('serves the running aggregate of the configured group, or of another', async () => {
      const { status, body } = await service.get('/stats/orders');
      assert.equal(status, 200);
      assert.deepEqual(body, { group: lab.group, count: 0, sumCents: 0, average: null, products: {} });
      assert.equal((await service.get('/stats/orders?group=other')).body.group, 'other');
      await badRequest(service.get('/stats/orders?group='), 'group');
      await badRequest(service.get('/stats/orders?groups=x'), 'groups');
    });

    it('is healthy and ready, and exposes Prometheus metrics', async () => {
      assert.deepEqual((await service.get('/health')).body, { status: 'ok' });
      const ready = await service.get('/ready');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.ready, true);
      assert.equal(ready.body.index.records, 13);
      assert.equal(ready.body.index.lag, 0);
      const metrics = await service.get('/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(metrics.body, /^dlq_archive_records 13$/m);
      assert.match(metrics.body, /^dlq_replays_total\{outcome="replayed"\} \d+$/m);
      assert.match(
        metrics.body,
        /^http_request_duration_seconds_count\{method="GET",route="\/dlq",status_code="200"\} \d+$/m,
      );
    });

    it('answers 404 with a JSON error for an unknown route', async () => {
      const { status, body } = await service.get('/nowhere');
      assert.equal(status, 404);
      assert.equal(body.statusCode, 404);
    });

    it('sends security headers on every response: a content security policy, no sniffing, no framing', async () => {
      for (const path of ['/dlq', '/health', '/', '/openapi.json', '/nowhere']) {
        const { headers } = await service.get(path);
        const csp = headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'self'/, path);
        assert.match(csp, /frame-ancestors 'none'/, path);
        assert.match(csp, /object-src 'none'/, path);
        assert.equal(headers.get('x-content-type-options'), 'nosniff', path);
        assert.equal(headers.get('referrer-policy'), 'no-referrer', path);
      }
    });

    it('answers 405 with an Allow header for a known path called with a method it does not serve', async () => {
      for (const [method, path, allow] of [
        ['DELETE', '/dlq', 'GET, HEAD'],
        ['PUT', '/dlq/0-1', 'GET, HEAD'],
        ['GET', '/dlq/0-1/replay', 'POST'],
        ['GET', '/dlq/replay', 'POST'],
        ['POST', '/health?x=1', 'GET, HEAD'],
      ] as const) {
        const { status, headers, body } = await service.request(method, path);
        assert.equal(status, 405, `${method} ${path}`);
        assert.equal(headers.get('allow'), allow, `${method} ${path}`);
        assert.equal(body.code, 'METHOD_NOT_ALLOWED');
        assert.match(body.message, new RegExp(`does not answer ${method}`));
      }
      // Paths no route serves stay 404, whatever the method: a trailing slash, a file that is not there.
      for (const path of ['/health/', '/dlq/stats/', '/docs/static/nothing.js']) {
        assert.equal((await service.get(path)).status, 404, path);
      }
    });
  });

  describe('OpenAPI', () => {
    const operations = [
      'get /dlq',
      'get /dlq/stats',
      'get /dlq/{id}',
      'post /dlq/{id}/replay',
      'post /dlq/replay',
      'get /stats/orders',
      'get /stats/history',
      'get /alerts',
      'post /alerts',
      'get /health',
      'get /ready',
      'get /metrics',
      'get /openapi.json',
    ];

    it('serves a valid OpenAPI 3 document that lists every route', async () => {
      const { status, body } = await service.get('/openapi.json');
      assert.equal(status, 200);
      const validator = new Validator();
      const result = await validator.validate(body);
      assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
      assert.match(validator.version, /^3\./);
      validator.resolveRefs(); // every $ref resolves
      const listed = Object.entries(body.paths as Record<string, object>).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method} ${path}`),
      );
      assert.deepEqual(listed.sort(), [...operations].sort());
      for (const operation of operations) {
        const [method, path] = operation.split(' ') as [string, string];
        assert.ok(
          service.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace('{id}', ':id') }),
          `${operation} is a route`,
        );
      }
    });

    it('documents the id format, the query parameters and the bearer token', async () => {
      const { body } = await service.get('/openapi.json');
      const list = body.paths['/dlq'].get;
      assert.deepEqual(list.parameters.map((p: any) => p.name).sort(), [
        'cursor',
        'failureClass',
        'from',
        'limit',
        'orderId',
        'product',
        'q',
        'reason',
        'replayed',
        'to',
      ]);
      assert.match(body.paths['/dlq/{id}'].get.parameters[0].description, /<DLQ partition>-<DLQ offset>/);
      assert.deepEqual(body.paths['/dlq/{id}/replay'].post.security, [{ bearerAuth: [] }]);
      assert.deepEqual(body.paths['/dlq/replay'].post.security, [{ bearerAuth: [] }]);
      // The document says what the service accepts: a single replay's body may be left out, a bulk replay's not.
      assert.equal(body.paths['/dlq/{id}/replay'].post.requestBody.required, false);
      assert.equal(body.paths['/dlq/replay'].post.requestBody.required, true);
      assert.deepEqual(list.security, [{}, { readToken: [] }], 'reads: open, or with the read token when set');
      assert.equal(body.components.securitySchemes.bearerAuth.scheme, 'bearer');
      assert.ok(body.components.schemas.DeadLetter && body.components.schemas.Error);
    });

    it('serves Swagger UI at /docs and the dashboard at /, without any external asset', async () => {
      const docs = await service.get('/docs/');
      assert.equal(docs.status, 200);
      const page = await service.get('/');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.body, /src="\/dashboard.js"/);
      assert.doesNotMatch(page.body, /(src|href)="(https?:)?\/\//);
      // The charts' library comes from the service's own node_modules.
      for (const [path, type, content] of [
        ['/vendor/uPlot.esm.js', /^text\/javascript/, /uPlot/],
        ['/vendor/uPlot.min.css', /^text\/css/, /\.uplot/],
      ] as const) {
        const file = await service.get(path);
        assert.equal(file.status, 200, path);
        assert.match(file.headers.get('content-type') ?? '', type, path);
        assert.match(file.body, content, path);
      }
    });
  });

  it('never logs the token, and redacts the Authorization header', async () => {
    service.app.log.info({ headers: { authorization: `Bearer ${TOKEN}` } }, 'redaction check');
    assert.ok(service.logs.includes('request completed'), 'requests were logged');
    assert.ok(!service.logs.includes(TOKEN), 'the token appears in no log line');
    assert.match(service.logs, /"authorization":"\[redacted\]"/);
  });

  it('rebuilds the same index and replay states from Kafka after a restart', async () => {
    const before = await service.listAll();
    const details = await Promise.all(before.map((item) => service.get(`/dlq/${item.id}`)));
    await service.close();
    const started = Date.now();
    service = await DlqService.start(lab, { DLQ_REPLAY_BATCH_MAX: String(REPLAY_BATCH_MAX) });
    await waitForReady(service);
    assert.ok(Date.now() - started < 30_000);
    assert.deepEqual(await service.listAll(), before);
    for (const detail of details) assert.deepEqual((await service.get(`/dlq/${detail.body.id}`)).body, detail.body);
    const again = await service.post(`/dlq/${id.B}/replay`);
    assert.equal(again.status, 409, 'a replayed record stays replayed across restarts');
  });
});

async function waitForReady(service: DlqService): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await service.get('/ready')).status !== 200) {
    if (Date.now() > deadline) throw new Error('the restarted service did not become ready within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
