#!/usr/bin/env -S npx tsx
// scenario-faults: realistic bad input and operator actions that must
// neither stop the consumer nor lose an order. Each case runs on a lab of its
// own (its own topics), writes its input as any client could, and is judged
// by what Kafka holds afterwards: one row per case with records in, orders
// counted, dead letters, orders lost, orders counted twice, and whether the
// consumer stalled. Slower faults (broker killed, DLQ topic deleted, offset
// resets, heartbeats) are integration tests.
import type { Message } from 'kafkajs';
import { DLQ, DLT } from '../../services/lib/dlq.ts';
import { RETRY } from '../../services/lib/retry-headers.ts';
import { FAULT_TRANSIENT_HEADER } from '../../services/lib/fault-injection.ts';
import { Lab, waitUntil, type DeadLetter, type ServiceProcess } from '../harness/lab.ts';
import { isMain, main, type Scenario, type ScenarioContext } from './scenario.ts';

interface Expected {
  /** Orders that must be counted. */
  counted: number;
  /** Keys of the records that must be dead-lettered, once each. */
  deadLettered: string[];
}

interface Outcome {
  counted: number;
  deadLetters: DeadLetter[];
  stalled: boolean;
}

/** Runs one case: its row, plus the case's own checks (`extra`), which must all hold for a PASS. */
async function runCase(
  s: ScenarioContext,
  name: string,
  input: { records: number; expected: Expected; lab: Lab; consumer: ServiceProcess },
  extra: (outcome: Outcome) => Promise<string | undefined> | string | undefined = () => undefined,
): Promise<void> {
  const { lab, consumer, expected } = input;
  s.services.push({ name: `consumer-${name.replace(/\W+/g, '-')}`, process: consumer });
  // The orders topic fully committed, every order counted, every dead letter
  // committed (the consumer's counter moves only after the commit; the DLQ
  // itself is read once, below). Retry topics are not waited on to their
  // end: a partition written by several lanes' transactions ends in several
  // commit markers.
  const drained = await waitUntil(
    'the consumer to take its input and count the orders',
    async () =>
      (await lab.caughtUp(lab.topics.orders)) &&
      lab.stats().count >= expected.counted &&
      (await consumer.metric('orders_dead_lettered_total')) >= expected.deadLettered.length,
    30_000,
  ).then(
    () => true,
    () => false,
  );
  const health = await consumer.get('/health').catch(() => ({ status: 0 }));
  // A DLQ that cannot be read to its end (a transaction left open) is a stall too.
  const deadLetters = await lab.deadLetters().catch(() => undefined);
  const outcome: Outcome = {
    counted: lab.stats().count,
    deadLetters: deadLetters ?? [],
    stalled: !drained || health.status !== 200 || deadLetters === undefined,
  };
  const keys = outcome.deadLetters.map((letter) => letter.key);
  const wanted = new Set(expected.deadLettered);
  const lost =
    Math.max(0, expected.counted - outcome.counted) + expected.deadLettered.filter((key) => !keys.includes(key)).length;
  const twice =
    Math.max(0, outcome.counted - expected.counted) +
    (keys.length - new Set(keys).size) +
    keys.filter((key) => !wanted.has(key)).length;
  const problem = await extra(outcome);
  const row =
    `in ${input.records} | counted ${outcome.counted} of ${expected.counted} | dead-lettered ${keys.length} of ` +
    `${expected.deadLettered.length} | lost ${lost} | counted twice ${twice} | stalled ` +
    `${outcome.stalled ? 'yes' : 'no'}`;
  s.check(
    name,
    lost === 0 && twice === 0 && !outcome.stalled && problem === undefined,
    problem ? `${row} | ${problem}` : row,
  );
}

/** A case's own check of the dead letter of `key` (one that is missing is already counted as lost). */
function letterCheck(key: string, check: (letter: DeadLetter) => string | undefined) {
  return ({ deadLetters }: Outcome) => {
    const letter = deadLetters.find((candidate) => candidate.key === key);
    return letter && check(letter);
  };
}

async function withLab(settings: Record<string, string>, body: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = new Lab(settings);
  try {
    await lab.start();
    await body(lab);
  } finally {
    await lab.stop();
  }
}

const BUILT_INS = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

async function builtInProductNames(s: ScenarioContext): Promise<void> {
  const { lab } = s;
  const orders = BUILT_INS.flatMap((product, i) =>
    [1, 2].map((n) => ({ orderId: `builtin-${i}-${n}`, product, price: 10 * n })),
  );
  await lab.send(
    lab.topics.orders,
    await Promise.all(orders.map(async (order) => ({ key: order.orderId, value: await lab.encode(order) }))),
  );
  const consumer = lab.startConsumer();
  const dlq = await s.startDlqService();
  await runCase(
    s,
    'product names that are object built-ins',
    { records: orders.length, expected: { counted: orders.length, deadLettered: [] }, lab, consumer },
    async () => {
      const stats = await dlq.orderStats().catch((error: Error) => error);
      if (stats instanceof Error) return `GET /stats/orders: ${stats.message}`;
      const wrong = BUILT_INS.filter(
        (name) =>
          !Object.hasOwn(stats.products, name) ||
          stats.products[name]?.count !== 2 ||
          stats.products[name]?.average !== 15,
      );
      if (wrong.length > 0) return `GET /stats/orders miscounts ${wrong.join(', ')}: ${JSON.stringify(stats.products)}`;
      return stats.average === 15 ? undefined : `average ${stats.average}, expected 15`;
    },
  );
}

const OVERSIZED_BYTES = 1_048_000;

async function oversizedUndecodableRecord(s: ScenarioContext): Promise<void> {
  await withLab({}, async (lab) => {
    // Not the wire format (no magic byte 0): undecodable, and too large for the DLQ with its headers.
    await lab.send(lab.topics.orders, [{ key: 'oversized', value: Buffer.alloc(OVERSIZED_BYTES, 0x7b), partition: 0 }]);
    const truth = await lab.produce({ count: 2000 });
    const consumer = lab.startConsumer();
    const expected = { counted: truth.orders.length, deadLettered: ['oversized'] };
    await runCase(
      s,
      `an undecodable record of ${OVERSIZED_BYTES.toLocaleString('en')} bytes, then 2,000 orders`,
      { records: 2001, expected, lab, consumer },
      letterCheck('oversized', (letter) => {
        const cut = letter.headers[DLQ.truncated] ?? '';
        const size = letter.headers[DLQ.originalValueBytes];
        if (!cut.includes('value') || size !== String(OVERSIZED_BYTES))
          return `dead letter not marked as cut (x-dlq-truncated "${cut}", size ${size})`;
        return letter.headers[DLT.originalOffset] === '0' ? undefined : 'dead letter does not name its origin';
      }),
    );
  });
}

async function forgedRetryHeaders(s: ScenarioContext): Promise<void> {
  await withLab({ RETRY_BASE_MS: '100' }, async (lab) => {
    const forged = {
      [RETRY.originalTopic]: 'elsewhere',
      [RETRY.attempt]: 'not-a-number',
      [RETRY.originalPartition]: 'x',
    };
    const invalid = { orderId: 'forged-invalid', product: 'mouse', price: -5 };
    const transient = { orderId: 'forged-transient', product: 'mouse', price: 5 };
    await lab.send(lab.topics.orders, [
      { key: invalid.orderId, value: await lab.encode(invalid), partition: 2, headers: forged },
      {
        key: transient.orderId,
        value: await lab.encode(transient),
        partition: 2,
        headers: { ...forged, [FAULT_TRANSIENT_HEADER]: '1' },
      },
    ]);
    const consumer = lab.startConsumer();
    const expected = { counted: 1, deadLettered: [invalid.orderId] };
    await runCase(
      s,
      'x-retry-* headers forged on the orders topic',
      { records: 2, expected, lab, consumer },
      letterCheck(invalid.orderId, (letter) => {
        const origin = [
          letter.headers[DLT.originalTopic],
          letter.headers[DLT.originalPartition],
          letter.headers[DLT.originalOffset],
        ];
        return origin.join('/') === `${lab.topics.orders}/2/0`
          ? undefined
          : `dead letter names origin ${origin.join('/')}`;
      }),
    );
  });
}

async function malformedRetryEnvelope(s: ScenarioContext): Promise<void> {
  await withLab({}, async (lab) => {
    const order = { orderId: 'bad-envelope', product: 'dock', price: 80 };
    const retryTopic = lab.retryTopics()[0]!;
    await lab.send(retryTopic, [
      {
        key: order.orderId,
        value: await lab.encode(order),
        partition: 1,
        headers: { [RETRY.attempt]: '1', [RETRY.dueAt]: '0' },
      },
    ]);
    const truth = await lab.produce({ count: 20 });
    const consumer = lab.startConsumer();
    const expected = { counted: truth.orders.length, deadLettered: [order.orderId] };
    await runCase(
      s,
      'a retry record with a malformed envelope',
      { records: 21, expected, lab, consumer },
      letterCheck(order.orderId, (letter) => {
        const reason = letter.headers[DLT.exceptionMessage] ?? '';
        if (letter.headers[DLQ.failureClass] !== 'invalid' || !/x-retry-original-topic/.test(reason))
          return `dead letter: ${reason}`;
        return letter.headers[DLT.originalTopic] === retryTopic
          ? undefined
          : 'dead letter does not name the retry topic';
      }),
    );
  });
}

async function ordersGrownPastRetryTopics(s: ScenarioContext): Promise<void> {
  await withLab({ RETRY_MODE: 'topics', RETRY_BASE_MS: '100' }, async (lab) => {
    // topic-init made retry topics and DLQ with 3 partitions; orders grows to 6 afterwards.
    await lab.admin.createPartitions({ topicPartitions: [{ topic: lab.topics.orders, count: 6 }] });
    const orders = Array.from({ length: 120 }, (_, i) => ({ orderId: `grown-${i}`, product: 'chair', price: 100 + i }));
    const messages: Message[] = await Promise.all(
      orders.map(async (order, i) => ({
        key: order.orderId,
        value: await lab.encode(order),
        partition: i % 6,
        headers: i % 2 === 0 ? { [FAULT_TRANSIENT_HEADER]: '1' } : {},
      })),
    );
    await lab.send(lab.topics.orders, messages);
    const consumer = lab.startConsumer();
    const expected = { counted: orders.length, deadLettered: [] };
    await runCase(
      s,
      'topics mode, orders grown to 6 partitions past its 3-partition retry topics',
      { records: orders.length, expected, lab, consumer },
      () => {
        const said = consumer.logs(/fewer partitions than/).length > 0;
        return said ? undefined : 'the consumer did not report the retry topics with fewer partitions';
      },
    );
  });
}

export const faultsScenario: Scenario = {
  name: 'faults',
  title: 'bad input and altered topics neither stall the consumer nor lose an order',
  async run(s) {
    await builtInProductNames(s);
    await oversizedUndecodableRecord(s);
    await forgedRetryHeaders(s);
    await malformedRetryEnvelope(s);
    await ordersGrownPastRetryTopics(s);
  },
};

if (isMain(import.meta.url)) await main([faultsScenario]);
