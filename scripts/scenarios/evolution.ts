#!/usr/bin/env -S npx tsx
// scenario-evolution: the order schema evolves under the registry's BACKWARD
// rule (set by topic-init). v2 adds `currency` with a default: it is accepted,
// v1 and v2 orders are interleaved on the topic, and the consumer, which
// decodes each record with the schema it was written with, processes both.
// v3 adds a field without a default: the registry refuses it (409) and the
// producer stops with a message that says so, before sending anything.
import { readSchemaFile, Serde } from '../../services/lib/serde.ts';
import { valueSubject } from '../../services/lib/topics.ts';
import { expectedStats } from '../harness/lab.ts';
import { isMain, main, type Scenario } from './scenario.ts';

// Paths as the producer's --schema takes them: relative to the repository.
const V1 = 'schemas/order.avsc';
const V2 = 'schemas/order-v2.avsc';
const V3 = 'schemas/order-v3-incompatible.avsc';
const BATCH = 15;

export const evolutionScenario: Scenario = {
  name: 'evolution',
  title: 'a compatible v2 schema is accepted and mixed v1/v2 orders are processed; an incompatible v3 is refused',
  async run(s) {
    const registryUrl = s.lab.env.SCHEMA_REGISTRY_URL!;
    const subject = valueSubject(s.lab.topics.orders);
    const versions = async () =>
      (await (await fetch(`${registryUrl}/subjects/${subject}/versions`)).json()) as number[];

    const truths = [];
    for (const schema of [V1, V2, V1, V2]) truths.push(await s.lab.produce({ count: BATCH, schema }));
    const [v1, v2] = truths;
    const registered = await versions();
    s.check(
      'v2 is registered as a new version with its own id',
      v1!.schemaId !== v2!.schemaId && registered.length === 2,
      `ids ${v1!.schemaId} (v1), ${v2!.schemaId} (v2); versions ${JSON.stringify(registered)}`,
    );

    const serde = new Serde(registryUrl);
    const decoded = await Promise.all(
      (await s.lab.readAll(s.lab.topics.orders)).map(async ({ message }) => (await serde.decode(message.value)).value),
    );
    const withCurrency = decoded.filter((order) => order.currency === 'EUR').length;
    s.equal(
      'the topic holds v1 and v2 orders interleaved (v2 ones carry currency)',
      withCurrency,
      2 * BATCH,
      `${decoded.length - withCurrency} v1, ${withCurrency} v2`,
    );

    s.startConsumer();
    await s.startDlqService();
    const expected = expectedStats(truths, s.consumerConfig.MAX_RETRIES);
    const { deadLetters, stats } = await s.outcome({ deadLetters: 0, orders: expected.count });
    s.equal(
      'the consumer processes v1 and v2 orders alike',
      stats,
      expected,
      `${stats.count} orders, average ${stats.average}`,
    );
    s.equal('none is dead-lettered', deadLetters.length, 0);

    const refused = await s.lab.produce({ count: 1, schema: V3 }).then(
      () => 'the producer registered v3',
      (error: Error) => error.message,
    );
    // The registry's own words, from its last "incompatible" on (Apicurio and Confluent phrase it differently).
    const why = refused
      .slice(Math.max(0, refused.lastIndexOf('ncompatible') - 1))
      .split(/["\n]/)[0]!
      .slice(0, 200);
    s.check(
      'the producer refuses to start with v3, saying the registry found it incompatible',
      /refused to register/.test(refused) && /[Ii]ncompatible/.test(refused),
      why,
    );
    const direct = await fetch(`${registryUrl}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: await readSchemaFile(new URL(`../../${V3}`, import.meta.url)) }),
    });
    s.equal(
      'the registry answers 409 Conflict to v3',
      direct.status,
      409,
      `${direct.status}, error_code ${((await direct.json()) as { error_code?: number }).error_code}`,
    );
    s.equal('the subject still has only v1 and v2', await versions(), [1, 2]);
  },
};

if (isMain(import.meta.url)) await main([evolutionScenario]);
