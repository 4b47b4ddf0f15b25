// Counts over a set of dead letters: GET /dlq/stats, and the reason
// histogram of a bulk replay's dry run.
import type { DlqEntry } from './entry.ts';

export interface DlqSummary {
  total: number;
  replayed: number;
  byFailureClass: Record<string, number>;
  byProduct: Record<string, number>;
  /** Most frequent first, at most MAX_REASONS. */
  byReason: { reason: string; count: number }[];
  /** One bucket per minute of the last hour, oldest first; `minute` is the bucket's start. */
  perMinute: { minute: string; count: number }[];
  oldest: string | null;
  newest: string | null;
}

/** Stands for an absent failure class or product in the counts. */
export const NONE = '(none)';
const MAX_REASONS = 50;
const MINUTE_MS = 60_000;
const MINUTES = 60;

export class SummaryBuilder {
  private total = 0;
  private replayed = 0;
  private readonly classes = new Map<string, number>();
  private readonly products = new Map<string, number>();
  private readonly reasons = new Map<string, number>();
  private readonly minutes = new Array<number>(MINUTES).fill(0);
  private readonly firstMinute: number;
  private oldest = Number.POSITIVE_INFINITY;
  private newest = Number.NEGATIVE_INFINITY;

  constructor(now: number) {
    this.firstMinute = (Math.floor(now / MINUTE_MS) - (MINUTES - 1)) * MINUTE_MS;
  }

  add(entry: DlqEntry, replayed: boolean): void {
    this.total += 1;
    if (replayed) this.replayed += 1;
    increment(this.classes, entry.failureClass ?? NONE);
    const product = entry.order?.product;
    increment(this.products, typeof product === 'string' ? product : NONE);
    increment(this.reasons, entry.reason);
    const minute = Math.floor((entry.time - this.firstMinute) / MINUTE_MS);
    if (minute >= 0 && minute < MINUTES) this.minutes[minute]! += 1;
    this.oldest = Math.min(this.oldest, entry.time);
    this.newest = Math.max(this.newest, entry.time);
  }

  result(): DlqSummary {
    return {
      total: this.total,
      replayed: this.replayed,
      byFailureClass: Object.fromEntries(this.classes),
      byProduct: Object.fromEntries(this.products),
      byReason: reasonHistogram(this.reasons),
      perMinute: this.minutes.map((count, i) => ({
        minute: new Date(this.firstMinute + i * MINUTE_MS).toISOString(),
        count,
      })),
      oldest: this.total === 0 ? null : new Date(this.oldest).toISOString(),
      newest: this.total === 0 ? null : new Date(this.newest).toISOString(),
    };
  }
}

/** Reasons of the given entries, most frequent first (a dry run's histogram). */
export function reasonsOf(entries: Iterable<DlqEntry>): { reason: string; count: number }[] {
  const reasons = new Map<string, number>();
  for (const entry of entries) increment(reasons, entry.reason);
  return reasonHistogram(reasons);
}

function reasonHistogram(reasons: Map<string, number>): { reason: string; count: number }[] {
  return [...reasons]
    .sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b))
    .slice(0, MAX_REASONS)
    .map(([reason, count]) => ({ reason, count }));
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
