// Measurement helpers every benchmark shares: percentiles, rates and ratios,
// number formatting, a CPU-bound operations/s loop, the machine's facts and
// load, and waiting until the machine is quiet before a measured run.
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { KafkaMode } from '../harness/kafka-release.ts';

const execFileAsync = promisify(execFile);

export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** Events per second. */
export function perSecond(count: number, ms: number): number {
  return ms <= 0 ? Number.NaN : (count * 1000) / ms;
}

/** MB/s as Kafka's perf tools count it: MiB (1024 × 1024 bytes) per second. */
export function mebibytesPerSecond(bytes: number, ms: number): number {
  return perSecond(bytes, ms) / (1024 * 1024);
}

/** Whole numbers with thousands separators: 12,345. */
export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

export function formatNumber(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** Two decimals; small ratios with two significant digits, so 0.0017 does not read as 0.00. */
export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.abs(value) < 0.1 && value !== 0 ? value.toPrecision(2) : value.toFixed(2);
}

/**
 * Calls `round` (which does some units of work and returns how many) for at
 * least `minMs` after a short warm-up, and returns units per second. A round
 * should do many units, so that awaiting it costs nothing measurable.
 */
export async function unitsPerSecond(round: () => number | Promise<number>, minMs: number): Promise<number> {
  const warmUpUntil = performance.now() + Math.min(500, minMs / 4);
  while (performance.now() < warmUpUntil) await round();
  const started = performance.now();
  let units = 0;
  while (performance.now() - started < minMs) units += await round();
  return perSecond(units, performance.now() - started);
}

// ---------------------------------------------------------------------------
// The machine

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  java: string;
  kafka: string;
  /** "ZooKeeper mode" or "KRaft mode". */
  kafkaMode: string;
  kafkajs: string;
  registry: string;
  os: string;
}

export async function machineFacts(options: {
  kafkaJarsDir: string;
  kafkaMode: KafkaMode;
  registryUrl: string;
}): Promise<MachineFacts> {
  const java = await execFileAsync('java', ['-version']).then(
    ({ stderr }) => stderr.split('\n')[0]?.trim() ?? 'unknown',
    (error: Error) => `not found (${error.message})`,
  );
  const jars = await readdir(options.kafkaJarsDir).catch(() => [] as string[]);
  const kafkaJar = jars.find((name) => /^kafka_[\d.]+-[\d.]+\.jar$/.test(name));
  const toolsJar = jars.find((name) => /^kafka-tools-[\d.]+\.jar$/.test(name));
  const kafkajs = JSON.parse(
    await readFile(join(import.meta.dirname, '../../node_modules/kafkajs/package.json'), 'utf8'),
  ) as { version: string };
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    java,
    kafka: [kafkaJar, toolsJar].filter(Boolean).join(', ') || 'unknown',
    kafkaMode: options.kafkaMode === 'kraft' ? 'KRaft mode' : 'ZooKeeper mode',
    kafkajs: kafkajs.version,
    registry: await registryVersion(options.registryUrl),
    os: await readFile('/etc/os-release', 'utf8').then(
      (text) => /^PRETTY_NAME="?([^"\n]*)/m.exec(text)?.[1] ?? process.platform,
      () => process.platform,
    ),
  };
}

/** Apicurio answers its version on /apis/registry/v3/system/info; other registries may not. */
async function registryVersion(registryUrl: string): Promise<string> {
  const base = registryUrl.replace(/\/apis\/ccompat\/v\d+\/?$/, '');
  try {
    const response = await fetch(`${base}/apis/registry/v3/system/info`, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return `unknown (${registryUrl})`;
    const info = (await response.json()) as { name?: string; version?: string };
    return `${info.name ?? 'registry'} ${info.version ?? ''}`.trim();
  } catch {
    return `unknown (${registryUrl})`;
  }
}

/** The 1-, 5- and 15-minute load averages. */
export function loadAverages(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return [one, five, fifteen];
}

export function formatLoad([one, five, fifteen]: readonly number[]): string {
  return [one, five, fifteen].map((value) => formatNumber(value ?? Number.NaN, 2)).join(' / ');
}

export interface QuietWait {
  quiet: boolean;
  waitedMs: number;
  /** Load averages when the wait ended. */
  load: [number, number, number];
}

/**
 * Polls the 1-minute load average until it has stayed below `threshold` for
 * `quietForMs`, or `timeoutMs` passes. Other work on the machine competes for
 * the same cores as the broker and the clients, so a measured run waits for it.
 */
export async function waitForQuiet(options: {
  threshold: number;
  quietForMs: number;
  pollMs: number;
  timeoutMs: number;
  say: (line: string) => void;
}): Promise<QuietWait> {
  const started = Date.now();
  let quietSince: number | undefined;
  for (;;) {
    const load = loadAverages();
    const now = Date.now();
    if (load[0] < options.threshold) {
      quietSince ??= now;
      if (now - quietSince >= options.quietForMs) return { quiet: true, waitedMs: now - started, load };
    } else {
      quietSince = undefined;
    }
    if (now - started >= options.timeoutMs) return { quiet: false, waitedMs: now - started, load };
    options.say(
      `load ${formatLoad(load)}; waiting for the 1-minute load to stay below ${options.threshold} for ` +
        `${options.quietForMs / 1000} s`,
    );
    await sleep(options.pollMs);
  }
}
