// Dead letters the consumer cut to fit the DLQ topic's max.message.bytes,
// against a real broker, registry and HTTP server: the API shows what was cut
// and the original's size and SHA-256, and the service never replays a record
// that is no longer the original (its headers, value or key cut), force or
// not, single or bulk; a record with only its stack trace cut replays.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DLQ, REPLAY } from '../../services/lib/dlq.ts';
import { ValidationError } from '../../services/lib/errors.ts';
import { readSchemaFile, Serde } from '../../services/lib/serde.ts';
import { valueSubject } from '../../services/lib/topics.ts';
import { DlqService, writeDeadLetters, type SyntheticDeadLetter } from './dlq-service-app.ts';
import { Lab } from '../../scripts/harness/lab.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const invalid = (message: string) => ({ failureClass: 'invalid' as const, error: new ValidationError(message) });
/** What the consumer keeps of a cut value: its first bytes. */
const KEPT_BYTES = 1024;

describe('DLQ service and dead letters cut to fit the DLQ topic', () => {
  const lab = new Lab();
  const id: Record<string, string> = {};
  let original: Buffer;
  let service: DlqService;

  const item = async (name: string) => (await service.get(`/dlq/${id[name]}`)).body;
  const ordersEnd = async () =>
    (await lab.admin.fetchTopicOffsets(lab.topics.orders)).map(({ partition, high }) => `${partition}:${high}`);

  before(async () => {
    await lab.start();
    const serde = new Serde(lab.infra.registryUrl);
    const schemaId = await serde.register(await readSchemaFile('schemas/order.avsc'), valueSubject(lab.topics.orders));
    original = await serde.encode(schemaId, { orderId: 'o-big', product: 'x'.repeat(1_048_000), price: 10 });
    const records: Record<string, SyntheticDeadLetter> = {
      // Value cut: it holds the original's first bytes, the headers say what the original was.
      V: {
        partition: 0,
        key: 'o-big',
        raw: original.subarray(0, KEPT_BYTES),
        context: invalid('product is longer than 200 characters'),
        truncation: {
          [DLQ.truncated]: 'stacktrace,value',
          [DLQ.originalValueBytes]: String(original.length),
          [DLQ.originalValueSha256]: sha256(original),
        },
      },
      // Original headers cut: nothing to hash, still not the original record.
      H: {
        partition: 1,
        key: 'o-h',
        order: { orderId: 'o-h', product: 'mouse', price: -1 },
        headers: { traceparent: '00-abc' },
        context: invalid('price -1 is not positive'),
        truncation: { [DLQ.truncated]: 'stacktrace,message,headers' },
      },
      // Only the stack trace cut: key, value and headers are the original's.
      S: {
        partition: 2,
        key: 'o-s',
        order: { orderId: 'o-s', product: 'chair', price: -2 },
        headers: { traceparent: '00-def' },
        context: invalid('price -2 is not positive'),
        truncation: { [DLQ.truncated]: 'stacktrace' },
      },
      P: {
        partition: 0,
        key: 'o-p',
        order: { orderId: 'o-p', product: 'desk', price: -3 },
        context: invalid('price -3 is not positive'),
      },
    };
    const written = await writeDeadLetters(lab, Object.values(records));
    for (const [i, name] of Object.keys(records).entries()) id[name] = written[i]!;
    service = await DlqService.start(lab);
  });

  after(async () => {
    await service?.close();
    await lab.stop();
  });

  it("lists what was cut and the original value's size and SHA-256; [] and null when nothing was", async () => {
    const items = await service.listAll();
    const listed = (name: string) => items.find((entry) => entry.id === id[name]);
    assert.deepEqual(listed('V').truncated, ['stacktrace', 'value']);
    assert.deepEqual(listed('V').originalValue, { bytes: original.length, sha256: sha256(original) });
    assert.equal(listed('V').originalKey, null);
    assert.deepEqual(listed('H').truncated, ['stacktrace', 'message', 'headers']);
    assert.equal(listed('H').originalValue, null);
    assert.deepEqual(listed('S').truncated, ['stacktrace']);
    assert.deepEqual([listed('P').truncated, listed('P').originalValue, listed('P').originalKey], [[], null, null]);
  });

  it('shows the same in GET /dlq/{id}, the cut value as it is, and the x-dlq headers among the headers', async () => {
    const v = await item('V');
    assert.deepEqual(v.truncated, ['stacktrace', 'value']);
    assert.deepEqual(v.originalValue, { bytes: original.length, sha256: sha256(original) });
    assert.equal(v.originalKey, null);
    assert.equal(v.value, original.subarray(0, KEPT_BYTES).toString('base64'));
    assert.equal(v.headers[DLQ.truncated], 'stacktrace,value');
    assert.equal(v.headers[DLQ.originalValueBytes], String(original.length));
    assert.equal(v.headers[DLQ.originalValueSha256], sha256(original));
    assert.equal(v.headers[DLQ.originalKeyBytes], undefined);
    const p = await item('P');
    assert.deepEqual([p.truncated, p.originalValue, p.originalKey], [[], null, null]);
    assert.equal(p.headers[DLQ.truncated], undefined);
  });

  it('documents the fields in the OpenAPI document', async () => {
    const { body } = await service.get('/openapi.json');
    for (const schema of [body.components.schemas.DeadLetterSummary, body.components.schemas.DeadLetter]) {
      assert.deepEqual(schema.properties.truncated.items.enum, ['stacktrace', 'message', 'headers', 'value', 'key']);
      assert.deepEqual(Object.keys(schema.properties.originalValue.properties), ['bytes', 'sha256']);
      assert.deepEqual(Object.keys(schema.properties.originalKey.properties), ['bytes', 'sha256']);
      assert.ok(['truncated', 'originalValue', 'originalKey'].every((name) => schema.required.includes(name)));
    }
    assert.match(body.paths['/dlq/{id}/replay'].post.description, /TRUNCATED/);
  });

  it('refuses to replay a record whose value or headers were cut (409 TRUNCATED), even with force', async () => {
    const before = await ordersEnd();
    for (const force of [false, true]) {
      const value = await service.post(`/dlq/${id.V}/replay`, { force });
      assert.equal(value.status, 409, JSON.stringify(value.body));
      assert.equal(value.body.code, 'TRUNCATED');
      assert.match(value.body.message, /cut its value/);
      assert.match(value.body.message, new RegExp(`${original.length} bytes, sha256 ${sha256(original)}`));
      assert.match(value.body.message, new RegExp(`read from ${lab.topics.orders} partition 0 offset \\d+`));
      const headers = await service.post(`/dlq/${id.H}/replay`, { force });
      assert.equal(headers.status, 409, JSON.stringify(headers.body));
      assert.equal(headers.body.code, 'TRUNCATED');
      assert.match(headers.body.message, /cut its headers/);
    }
    assert.deepEqual(await ordersEnd(), before, 'nothing was published');
    assert.deepEqual([(await item('V')).replays, (await item('H')).replays], [0, 0]);
    assert.match((await service.get('/metrics')).body, /^dlq_replays_total\{outcome="truncated"\} 4$/m);
  });

  it('replays a record with only its stack trace cut: the original key, value and headers', async () => {
    assert.deepEqual((await item('S')).truncated, ['stacktrace']);
    const { status, body } = await service.post(`/dlq/${id.S}/replay`);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal((await item('S')).replays, 1);
    const published = await lab.readAll(lab.topics.orders);
    const [replayed, ...more] = published.filter(({ message }) => message.key?.toString() === 'o-s');
    assert.equal(more.length, 0);
    assert.equal(replayed!.message.value!.toString('base64'), (await item('S')).value);
    const headers = Object.fromEntries(
      Object.entries(replayed!.message.headers ?? {}).map(([name, value]) => [name, String(value)]),
    );
    assert.deepEqual(Object.keys(headers).sort(), ['traceparent', REPLAY.at, REPLAY.count, REPLAY.from].sort());
  });

  it('bulk replay and its dry run skip the cut records with the reason, and replay the rest', async () => {
    const expectSkipped = (skipped: { id: string; code: string; message: string }[]) => {
      const codes = skipped.map((skip) => [skip.id, skip.code]).sort();
      assert.deepEqual(
        codes,
        [
          [id.V, 'truncated'],
          [id.H, 'truncated'],
        ].sort(),
      );
      assert.match(skipped.find((skip) => skip.id === id.V)!.message, new RegExp(`sha256 ${sha256(original)}`));
    };
    const dryRun = await service.post('/dlq/replay', { dryRun: true, force: true });
    assert.equal(dryRun.status, 200, JSON.stringify(dryRun.body));
    assert.deepEqual([...dryRun.body.ids].sort(), [id.S, id.P].sort());
    expectSkipped(dryRun.body.skipped);

    const bulk = await service.post('/dlq/replay', { force: true });
    assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
    assert.deepEqual([...bulk.body.ids].sort(), [id.S, id.P].sort());
    expectSkipped(bulk.body.skipped);
    assert.equal(bulk.body.matched, 4);
    const published = (await lab.readAll(lab.topics.orders)).map(({ message }) => message.key?.toString());
    assert.ok(!published.includes('o-big') && !published.includes('o-h'), 'no cut record was published');
    assert.deepEqual([(await item('V')).replays, (await item('H')).replays], [0, 0]);
  });
});
