// The registry's one answer this test needs (the schema for an id) comes from
// a loopback HTTP handler, so the encode path runs without a broker or
// registry; tests/integration/serde.test.ts does the same against the real one.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import avro from 'avsc';
import { RegistryUnreachableError, UndecodableError } from '../../services/lib/errors.ts';
import { readSchemaFile, Serde } from '../../services/lib/serde.ts';

const SCHEMA_ID = 0x01020304;
let schemaText: string;
let server: Server;
let serde: Serde;

before(async () => {
  schemaText = await readSchemaFile(new URL('../../schemas/order.avsc', import.meta.url));
  server = createServer((request, response) => {
    if (request.url === `/schemas/ids/${SCHEMA_ID}`) {
      response.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
      response.end(JSON.stringify({ schema: schemaText }));
    } else {
      response.statusCode = 404;
      response.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serde = new Serde(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const order = { orderId: 'order-1', product: 'keyboard', price: 49.5 };

describe('serde wire format', () => {
  it('frames an order as magic byte 0, 4-byte big-endian schema id, then Avro', async () => {
    const bytes = await serde.encode(SCHEMA_ID, order);
    const avroBytes = avro.Type.forSchema(JSON.parse(schemaText)).toBuffer(order);
    assert.equal(bytes[0], 0);
    assert.deepEqual([...bytes.subarray(1, 5)], [0x01, 0x02, 0x03, 0x04]);
    assert.deepEqual(bytes.subarray(5), avroBytes);
    assert.equal(bytes.length, 5 + avroBytes.length);
  });

  it('decodes what it encodes', async () => {
    const decoded = await serde.decode(await serde.encode(SCHEMA_ID, order));
    assert.deepEqual(decoded, { schemaId: SCHEMA_ID, value: order });
  });

  for (const [reason, bytes] of [
    ['too-short', Buffer.from([0, 1])],
    ['too-short', null],
    ['bad-magic-byte', Buffer.from('{"orderId":"x"}')],
    ['unknown-schema-id', Buffer.from([0, 0, 0, 0, 99, 1, 2])],
    ['malformed-avro', Buffer.from([0, 1, 2, 3, 4, 0xff, 0xff, 0xff])],
  ] as const) {
    it(`refuses ${reason} bytes with a typed undecodable error`, async () => {
      await assert.rejects(serde.decode(bytes), (error: unknown) => {
        assert.ok(error instanceof UndecodableError, `expected UndecodableError, got ${String(error)}`);
        assert.equal(error.reason, reason);
        assert.equal(error.kind, 'permanent');
        return true;
      });
    });
  }
});

describe('serde without waiting (decodeKnown)', () => {
  it('answers undefined for a schema not fetched yet, and the value at once once decode() has fetched it', async () => {
    const fresh = new Serde(serde.registryUrl);
    const bytes = await serde.encode(SCHEMA_ID, order);
    assert.equal(fresh.decodeKnown(bytes), undefined);
    assert.deepEqual(await fresh.decode(bytes), { schemaId: SCHEMA_ID, value: order });
    assert.deepEqual(fresh.decodeKnown(bytes), { schemaId: SCHEMA_ID, value: order });
  });

  it('throws the same typed errors as decode() for bytes that can never decode', async () => {
    const known = await serde.encode(SCHEMA_ID, order);
    await serde.decode(known);
    for (const [reason, bytes] of [
      ['too-short', null],
      ['bad-magic-byte', Buffer.from('{"orderId":"x"}')],
      ['malformed-avro', Buffer.concat([known.subarray(0, 5), Buffer.from([0xff, 0xff, 0xff])])],
    ] as const) {
      assert.throws(
        () => serde.decodeKnown(bytes),
        (error: unknown) => error instanceof UndecodableError && error.reason === reason,
        reason,
      );
    }
  });
});

describe('serde encoding without waiting (encodeKnown)', () => {
  it('answers undefined until the schema is known, then the bytes encode() gives', async () => {
    const fresh = new Serde(serde.registryUrl);
    assert.equal(fresh.encodeKnown(SCHEMA_ID, order), undefined);
    const bytes = await fresh.encode(SCHEMA_ID, order);
    assert.deepEqual(fresh.encodeKnown(SCHEMA_ID, order), bytes);
    assert.deepEqual(fresh.decodeKnown(bytes), { schemaId: SCHEMA_ID, value: order });
  });

  it('leaves a value that does not fit the schema to encode(), which says what is wrong', async () => {
    const wrong = { orderId: 'order-1', product: 'keyboard', price: 'free' };
    await serde.encode(SCHEMA_ID, order);
    assert.equal(serde.encodeKnown(SCHEMA_ID, wrong), undefined);
    await assert.rejects(serde.encode(SCHEMA_ID, wrong), /price|invalid/i);
  });
});

describe('serde against a registry that never answers', () => {
  it('gives up on a request after its deadline, as a registry it cannot reach, not never', {
    timeout: 10_000,
  }, async () => {
    // Accepts the connection and reads the request, but never answers (as a kept-alive socket the server forgot).
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const stuck = new Serde(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, { requestTimeoutMs: 200 });
      const bytes = Buffer.from([0, 0, 0, 0, 7, 2, 97]);
      const started = Date.now();
      await assert.rejects(stuck.decode(bytes), (error: unknown) => error instanceof RegistryUnreachableError);
      assert.ok(Date.now() - started < 5000, `gave up after ${Date.now() - started} ms`);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
