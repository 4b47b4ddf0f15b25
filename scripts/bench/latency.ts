// 3. End-to-end latency at a fixed rate: from the moment an order is due to
// be produced until a read_committed reader sees an order-stats record that
// accounts for it, i.e. until the aggregate that includes the order is
// committed and visible. The real consumer runs as its own process; this
// process produces (idempotent, acks=all, Avro through the registry, as the
// producer service does) and reads order-stats.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from 'kafkajs';
import { createKafka, PRODUCER_SETTINGS } from '../../services/lib/kafka.ts';
import { TopicFollower } from '../../services/lib/topic-follower.ts';
import { parseStatsRecord } from '../../services/lib/order-stats.ts';
import { Serde } from '../../services/lib/serde.ts';
import { OrderFactory } from '../../services/producer/orders.ts';
import { BenchLab, logger, type BenchEnvironment } from './lab.ts';
import { formatCount, formatNumber, summarize, type Summary } from './measure.ts';
import { summarizeProfile } from './profile.ts';
import { section, type Section } from './report.ts';

export const LATENCY_TARGET_P99_MS = 25;
/** The scheduler wakes this often and sends every order that has become due. */
const TICK_MS = 2;

export interface LatencyOptions {
  ratePerSecond: number;
  warmUpSeconds: number;
  seconds: number;
}

interface SentOrder {
  /** performance.now() when the order was due (index / rate after the start). */
  dueAt: number;
  partition: number;
  offset: number;
  ackedAt: number;
}

/**
 * When (performance.now()) the aggregate of a partition first covered offsets below nextOffset; computedAt is the
 * consumer's clock (epoch ms).
 */
interface StatsSeen {
  nextOffset: number;
  seenAt: number;
  computedAt: number;
}

export async function benchLatency(env: BenchEnvironment, options: LatencyOptions): Promise<Section> {
  const lab = new BenchLab(env, 'latency');
  const result = section(
    'latency',
    `3. End-to-end latency at ${formatCount(options.ratePerSecond)} orders/s`,
    `Orders are produced at a fixed ${formatCount(options.ratePerSecond)}/s (open loop: a scheduler sends every ` +
      `${TICK_MS} ms the orders that ` +
      'have become due, whatever earlier sends are doing; idempotent, acks=all, Avro through the registry, orders ' +
      'spread evenly over ' +
      `${lab.partitions} partitions).` +
      ' The real consumer runs as its own process with default settings. A read_committed reader follows ' +
      'order-stats; an ' +
      "order's latency runs from the moment it was due until the reader receives the first order-stats record of its " +
      'partition whose ' +
      'nextOffset is past the order, i.e. until the aggregate that counts it is committed and visible. ' +
      `The first ${options.warmUpSeconds} s are a warm-up and not counted.`,
  );
  const kafka = createKafka({ brokers: env.brokers, clientId: 'bench-latency', logger });
  const producer = kafka.producer(PRODUCER_SETTINGS);
  let reader: TopicFollower | undefined;
  try {
    await lab.start();
    const { schemaId } = lab;
    const consumer = await lab.spawnNode('services/consumer/main.ts', { label: 'consumer' });
    result.commands.push(consumer.command);
    await consumer.waitForLog(/joined the consumer group/, 60_000);

    const seen: StatsSeen[][] = Array.from({ length: lab.partitions }, () => []);
    reader = new TopicFollower(
      kafka,
      lab.admin,
      lab.topics.stats,
      'bench-latency-reader',
      async ({ batch }) => {
        const seenAt = performance.now();
        for (const message of batch.messages) {
          if (message.value === null) continue;
          const stats = parseStatsRecord(message.value);
          if (stats?.kind !== 'totals' || stats.topic !== lab.topics.orders || stats.group !== lab.group) continue;
          seen[stats.partition]!.push({
            nextOffset: Number(stats.nextOffset),
            seenAt,
            computedAt: Date.parse(stats.updatedAt),
          });
        }
      },
      logger,
    );
    await reader.start();
    await reader.joined;

    await producer.connect();
    const serde = new Serde(env.registryUrl);
    const factory = new OrderFactory(11);
    const total = Math.round(options.ratePerSecond * (options.warmUpSeconds + options.seconds));
    const warmUpCount = Math.round(options.ratePerSecond * options.warmUpSeconds);
    const orders: SentOrder[] = [];
    const sends: Promise<void>[] = [];
    env.say(`latency: ${formatCount(total)} orders at ${options.ratePerSecond}/s (${options.warmUpSeconds} s warm-up)`);
    const started = performance.now();
    let maxLagMs = 0;
    while (orders.length < total) {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - started) * options.ratePerSecond) / 1000) + 1);
      if (due > orders.length) {
        const batch: SentOrder[] = [];
        const messages: Message[] = [];
        for (let index = orders.length; index < due; index += 1) {
          const order = factory.order();
          const sent: SentOrder = {
            dueAt: started + (index * 1000) / options.ratePerSecond,
            partition: index % lab.partitions,
            offset: -1,
            ackedAt: -1,
          };
          maxLagMs = Math.max(maxLagMs, now - sent.dueAt);
          orders.push(sent);
          batch.push(sent);
          messages.push({ key: order.orderId, value: await serde.encode(schemaId, order), partition: sent.partition });
        }
        sends.push(
          producer.send({ topic: lab.topics.orders, acks: -1, messages }).then((metadata) => {
            const ackedAt = performance.now();
            // Within one send, the records of a partition get consecutive offsets in message order.
            for (const { partition, baseOffset } of metadata) {
              let offset = Number(baseOffset);
              for (const sent of batch) {
                if (sent.partition !== partition) continue;
                sent.offset = offset++;
                sent.ackedAt = ackedAt;
              }
            }
          }),
        );
      }
      await sleep(TICK_MS);
    }
    await Promise.all(sends);
    const producedSeconds = (performance.now() - started) / 1000;

    // Wait for the aggregate to cover the last order of every partition.
    const lastOffsets = Array.from({ length: lab.partitions }, (_, p) =>
      Math.max(-1, ...orders.filter((o) => o.partition === p).map((o) => o.offset)),
    );
    const deadline = Date.now() + 60_000;
    while (lastOffsets.some((last, p) => (seen[p]!.at(-1)?.nextOffset ?? 0) <= last) && Date.now() < deadline)
      await sleep(20);

    const endToEnd: number[] = [];
    const computed: number[] = [];
    const acked: number[] = [];
    let missing = 0;
    for (const order of orders.slice(warmUpCount)) {
      const first = firstCovering(seen[order.partition]!, order.offset);
      if (first === undefined) {
        missing += 1;
        continue;
      }
      endToEnd.push(first.seenAt - order.dueAt);
      computed.push(first.computedAt - (performance.timeOrigin + order.dueAt));
      acked.push(order.ackedAt - order.dueAt);
    }
    await consumer.stop();
    const [profileFile] = await consumer.profiles();
    if (env.profile && profileFile)
      result.profiles.push(await summarizeProfile(profileFile, 'the consumer at 1,000 orders/s (whole process)'));

    const e2e = summarize(endToEnd);
    const row = (label: string, s: Summary) => [
      label,
      ...[s.p50, s.p95, s.p99, s.max, s.mean].map((v) => formatNumber(v, 1)),
    ];
    result.tables.push({
      headers: ['from due to …', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms'],
      rows: [
        row('producer acknowledgement (acks=all)', summarize(acked)),
        row("aggregate computed (consumer's clock, before its commit)", summarize(computed)),
        row('**aggregate committed and seen by a read_committed reader**', e2e),
      ],
    });
    result.notes.push(
      `${formatCount(endToEnd.length)} orders measured after ${formatCount(warmUpCount)} warm-up orders; achieved ` +
        `rate ` +
        `${formatCount(total / producedSeconds)}/s; the scheduler was at most ${formatNumber(maxLagMs, 1)} ms late.` +
        (missing > 0 ? ` **${missing} orders were never seen in the aggregate within 60 s.**` : ''),
      'The middle row uses the updatedAt field the consumer writes into each order-stats record just before its ' +
        'transaction; the ' +
        "difference to the last row is the commit (stats record, offsets, EndTxn) plus the reader's fetch.",
    );
    result.targets.push({
      figure: `end-to-end p99 at ${formatCount(options.ratePerSecond)} orders/s`,
      target: `< ${LATENCY_TARGET_P99_MS} ms`,
      measured: `${formatNumber(e2e.p99, 1)} ms (p50 ${formatNumber(e2e.p50, 1)}, p95 ${formatNumber(e2e.p95, 1)})`,
      met: missing === 0 && e2e.p99 < LATENCY_TARGET_P99_MS,
    });
    return result;
  } finally {
    await reader?.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await lab.stop();
  }
}

/** The first observation (they are in time order, nextOffset rising) whose nextOffset is past `offset`. */
function firstCovering(seen: readonly StatsSeen[], offset: number): StatsSeen | undefined {
  let low = 0;
  let high = seen.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (seen[mid]!.nextOffset > offset) high = mid;
    else low = mid + 1;
  }
  return seen[low];
}
