// kafkajs 2.2.3 against 2.2.4 (the project's version): kafkajs issue #1556
// reports a CPU regression in 2.2.4, a request-queue timer
// (scheduleCheckPendingRequests) that re-arms itself every millisecond on
// every connection. The same producer and consumer run on each version (the
// other one loaded through child-hooks.ts, node_modules untouched), in
// alternation, on the same topic.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchLab, REPO_ROOT, type BenchEnvironment, type ProduceResult, type PipelineRun } from './lab.ts';
import { formatCount, formatNumber, formatRatio } from './measure.ts';
import { section, type Section } from './report.ts';

export interface VersionsOptions {
  /** A directory holding kafkajs 2.2.3 (by default .cache/kafkajs-2.2.3/node_modules/kafkajs). */
  otherKafkajsDir: string;
  records: number;
  repeats: number;
  idleMs: number;
}

interface Variant {
  version: string;
  dir: string | undefined;
  producer: ProduceResult[];
  consumer: PipelineRun[];
}

/** The version in a package directory's package.json. */
export async function versionOf(dir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function benchKafkajsVersions(env: BenchEnvironment, options: VersionsOptions): Promise<Section> {
  const result = section(
    'kafkajs',
    'kafkajs 2.2.3 against 2.2.4',
    'The same producer (`services/producer/main.ts`) and consumer (`services/consumer/main.ts`) run on kafkajs 2.2.4 ' +
      '(node_modules) and on ' +
      '2.2.3 (loaded instead of it by `scripts/bench/child-hooks.ts`; the log of each run confirms which copy was ' +
      'loaded), alternating, on one ' +
      `topic. Producer: N orders as in benchmark 1. Consumer: every order on the topic, a fresh group per run, as in ` +
      `benchmark 2; then ` +
      `${formatNumber(options.idleMs / 1000, 0)} s caught up with nothing to read, for the idle CPU that kafkajs ` +
      `issue #1556 is about.`,
  );
  const variants: Variant[] = [
    { version: await versionOf(join(REPO_ROOT, 'node_modules/kafkajs')), dir: undefined, producer: [], consumer: [] },
    { version: await versionOf(options.otherKafkajsDir), dir: options.otherKafkajsDir, producer: [], consumer: [] },
  ];
  const lab = new BenchLab(env, 'kafkajs');
  try {
    await lab.start();
    for (let run = 1; run <= options.repeats; run += 1) {
      for (const variant of variants) {
        const produced = await lab.produceTimed(
          { count: options.records, seed: run },
          { label: `producer-${variant.version}-${run}`, kafkajsDir: variant.dir },
        );
        assertLoaded(produced.child.usage(), variant);
        variant.producer.push(produced);
        if (run === 1) result.commands.push(produced.command);
        env.say(`kafkajs ${variant.version}: producer ${formatCount(produced.ratePerSecond)} orders/s`);
      }
    }
    const total = await lab.recordCount(lab.topics.orders);
    for (let run = 1; run <= options.repeats; run += 1) {
      for (const variant of variants) {
        const pipeline = await lab.runPipeline(total, {
          label: `consumer-${variant.version}-${run}`,
          kafkajsDir: variant.dir,
          idleMs: options.idleMs,
        });
        assertLoaded(pipeline.child.usage(), variant);
        variant.consumer.push(pipeline);
        if (run === 1) result.commands.push(pipeline.child.command);
        env.say(
          `kafkajs ${variant.version}: consumer ${formatCount(pipeline.rate)} orders/s, idle CPU ` +
            `${formatNumber(pipeline.idleCpuMs ?? Number.NaN, 0)} ms`,
        );
      }
    }
    const best = <T>(items: T[], value: (item: T) => number) => items.reduce((a, b) => (value(b) > value(a) ? b : a));
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const figures = variants.map((v) => ({
      version: v.version,
      producer: best(v.producer, (p) => p.ratePerSecond).ratePerSecond,
      producerCpu: mean(v.producer.map((p) => (p.cpuMs / p.sent) * 1000)),
      consumer: best(v.consumer, (c) => c.rate).rate,
      consumerCpu: mean(v.consumer.map((c) => (c.cpuMs / total) * 1000)),
      idleCpuPercent: mean(v.consumer.map((c) => ((c.idleCpuMs ?? Number.NaN) / options.idleMs) * 100)),
    }));
    result.tables.push({
      headers: [
        'kafkajs',
        'producer orders/s (best)',
        'producer CPU ms / 1,000 orders (mean)',
        'consumer orders/s (best)',
        'consumer CPU ms / 1,000 orders (mean)',
        'idle consumer CPU (mean, % of one core)',
      ],
      rows: [
        ...figures.map((f) => [
          f.version,
          formatCount(f.producer),
          formatNumber(f.producerCpu, 1),
          formatCount(f.consumer),
          formatNumber(f.consumerCpu, 1),
          formatNumber(f.idleCpuPercent, 1),
        ]),
        [
          `${figures[1]!.version} ÷ ${figures[0]!.version}`,
          formatRatio(figures[1]!.producer / figures[0]!.producer),
          formatRatio(figures[1]!.producerCpu / figures[0]!.producerCpu),
          formatRatio(figures[1]!.consumer / figures[0]!.consumer),
          formatRatio(figures[1]!.consumerCpu / figures[0]!.consumerCpu),
          formatRatio(figures[1]!.idleCpuPercent / figures[0]!.idleCpuPercent),
        ],
      ],
    });
    result.notes.push(
      `${options.repeats} run(s) per version; producer runs of ${formatCount(options.records)} orders, consumer runs ` +
        `over all ${formatCount(total)}. ` +
        'CPU is user + system time of the whole process (producer: child-hooks.ts reads process.cpuUsage() at exit; ' +
        'consumer: /proc, ' +
        'from start until caught up).',
    );
    return result;
  } finally {
    await lab.stop();
  }
}

function assertLoaded(usage: { kafkajs: string | undefined } | undefined, variant: Variant): void {
  const loaded = usage?.kafkajs ?? '';
  const expected = variant.dir ?? join(REPO_ROOT, 'node_modules/kafkajs');
  if (!loaded.includes(expected))
    throw new Error(`kafkajs ${variant.version} was meant to run, but the process loaded ${loaded || 'no kafkajs'}`);
}
