import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import avro from 'avsc';
import { RegistryUnreachableError, UndecodableError } from '../../services/lib/errors.ts';
import { readSchemaFile, Serde } from '../../services/lib/serde.ts';
import {
  infrastructure,
  whyStackIsNotOurs,
  withRegistryStopped,
  type Infrastructure,
} from '../../scripts/harness/infrastructure.ts';
import { uniqueName } from '../../scripts/harness/lab-topics.ts';

/** The registry is stopped only where it is this machine's local stack. */
const registryNotOurs = await whyStackIsNotOurs();
const order = { orderId: 'order-42', product: 'monitor', price: 199.25 };

describe('serde against the real registry', () => {
  let infra: Infrastructure;
  let serde: Serde;
  let schemaText: string;
  let schemaId: number;

  before(async () => {
    infra = await infrastructure();
    schemaText = await readSchemaFile(new URL('../../schemas/order.avsc', import.meta.url));
    serde = new Serde(infra.registryUrl);
    schemaId = await serde.register(schemaText, `${uniqueName('it-serde')}-value`);
  });

  it('registers idempotently: the same schema gets the same id', async () => {
    assert.equal(await serde.register(schemaText, `${uniqueName('it-serde')}-value`), schemaId);
  });

  it('round-trips an order, framed as magic byte, schema id, Avro', async () => {
    const bytes = await serde.encode(schemaId, order);
    assert.equal(bytes[0], 0);
    assert.equal(bytes.readInt32BE(1), schemaId);
    assert.deepEqual(bytes.subarray(5), avro.Type.forSchema(JSON.parse(schemaText)).toBuffer(order));
    // A fresh client has no cached schema, so decoding really asks the registry.
    assert.deepEqual(await new Serde(infra.registryUrl).decode(bytes), { schemaId, value: order });
  });

  it('a wrong magic byte is undecodable', async () => {
    const bytes = await serde.encode(schemaId, order);
    bytes[0] = 1;
    await assert.rejects(
      new Serde(infra.registryUrl).decode(bytes),
      (error) => error instanceof UndecodableError && error.reason === 'bad-magic-byte',
    );
  });

  it('an unknown schema id is undecodable', async () => {
    const bytes = await serde.encode(schemaId, order);
    bytes.writeInt32BE(2_000_000_000, 1);
    await assert.rejects(
      new Serde(infra.registryUrl).decode(bytes),
      (error) => error instanceof UndecodableError && error.reason === 'unknown-schema-id',
    );
  });

  it('with the registry stopped, decoding raises the typed unreachable error', {
    skip: registryNotOurs ?? false,
  }, async () => {
    const bytes = await serde.encode(schemaId, order);
    await withRegistryStopped(async () => {
      await assert.rejects(new Serde(infra.registryUrl).decode(bytes), (error) => {
        assert.ok(error instanceof RegistryUnreachableError, `expected RegistryUnreachableError, got ${String(error)}`);
        assert.equal(error.kind, 'infrastructure');
        assert.match(error.message, new RegExp(infra.registryUrl.replace(/[/.]/g, '\\$&')));
        return true;
      });
    });
    // And it answers again once started: the schema survived the restart.
    assert.deepEqual(await new Serde(infra.registryUrl).decode(bytes), { schemaId, value: order });
  });
});
