// 5. Serde: Avro encode + decode against JSON.stringify + JSON.parse of the
// same orders, in this process (CPU only). Two Avro levels: avsc alone,
// and the services' Serde (registry wire format, schema cached after the
// first lookup, async), which is what the producer and consumer pay.
import { join } from 'node:path';
import avro from 'avsc';
import type { Order } from '../../services/lib/order.ts';
import { readSchemaFile, Serde } from '../../services/lib/serde.ts';
import { valueSubject } from '../../services/lib/topics.ts';
import { OrderFactory } from '../../services/producer/orders.ts';
import { uniqueName } from '../harness/lab-topics.ts';
import { REPO_ROOT, type BenchEnvironment } from './lab.ts';
import { formatCount, formatNumber, formatRatio, unitsPerSecond } from './measure.ts';
import { section, type Section } from './report.ts';

const SAMPLE = 10_000;

export async function benchSerde(env: BenchEnvironment, options: { msPerCase: number }): Promise<Section> {
  const result = section(
    'serde',
    '5. Serde: Avro against JSON',
    `${formatCount(SAMPLE)} random orders, each encoded and decoded again, for ` +
      `${formatNumber(options.msPerCase / 1000, 1)} s per case ` +
      'after a warm-up, in one process. An operation is one order encoded and decoded.',
  );
  const schemaText = await readSchemaFile(join(REPO_ROOT, 'schemas/order.avsc'));
  const type = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema);
  const serde = new Serde(env.registryUrl);
  const schemaId = await serde.register(schemaText, valueSubject(uniqueName('bench-serde')));
  const factory = new OrderFactory(3);
  const orders: Order[] = Array.from({ length: SAMPLE }, () => factory.order());
  await serde.decode(await serde.encode(schemaId, orders[0])); // fills the schema cache

  const jsonBytes = orders.reduce((sum, order) => sum + Buffer.byteLength(JSON.stringify(order)), 0) / SAMPLE;
  const JSON_CASE = 'JSON.stringify + JSON.parse (strings)';
  const cases: { name: string; bytes: number; round: () => number | Promise<number> }[] = [
    {
      name: 'avsc: Type.toBuffer + Type.fromBuffer',
      bytes: orders.reduce((sum, order) => sum + type.toBuffer(order).length, 0) / SAMPLE,
      round: () => {
        for (const order of orders) type.fromBuffer(type.toBuffer(order));
        return orders.length;
      },
    },
    {
      name: "services' Serde: registry wire format (cached schema, async)",
      bytes:
        (await Promise.all(orders.map((order) => serde.encode(schemaId, order)))).reduce(
          (sum, bytes) => sum + bytes.length,
          0,
        ) / SAMPLE,
      round: async () => {
        for (const order of orders) await serde.decode(await serde.encode(schemaId, order));
        return orders.length;
      },
    },
    {
      name: JSON_CASE,
      bytes: jsonBytes,
      round: () => {
        for (const order of orders) JSON.parse(JSON.stringify(order));
        return orders.length;
      },
    },
    {
      name: 'JSON to and from a Buffer (what a Kafka value needs)',
      bytes: jsonBytes,
      round: () => {
        for (const order of orders) JSON.parse(Buffer.from(JSON.stringify(order)).toString());
        return orders.length;
      },
    },
  ];
  const measured: { name: string; bytes: number; opsPerSecond: number }[] = [];
  for (const entry of cases) {
    const opsPerSecond = await unitsPerSecond(entry.round, options.msPerCase);
    measured.push({ name: entry.name, bytes: entry.bytes, opsPerSecond });
    env.say(`serde: ${entry.name}: ${formatCount(opsPerSecond)} ops/s`);
  }
  const json = measured.find((m) => m.name === JSON_CASE)!.opsPerSecond;
  result.tables.push({
    headers: ['', 'encode + decode ops/s', 'ratio to JSON.stringify/parse', 'bytes per order'],
    rows: measured.map((m) => [
      m.name,
      formatCount(m.opsPerSecond),
      formatRatio(m.opsPerSecond / json),
      formatNumber(m.bytes, 1),
    ]),
  });
  result.notes.push(
    "The wire format adds 5 bytes (magic byte, schema id) to avsc's output. Serde's cost over avsc is the registry " +
      "client's per-call work " +
      '(cache lookup, buffer slicing, Buffer.concat) and two awaits per order.',
  );
  return result;
}
