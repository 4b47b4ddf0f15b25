// Counts over a set of dead letters: what GET /dlq/stats answers (the archive
// counts in SQL), and the reason histogram of a bulk replay's dry run.
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
/** Most reasons a histogram lists. */
export const MAX_REASONS = 50;

/** Reasons of the given entries, most frequent first (a dry run's histogram), at most MAX_REASONS. */
export function reasonsOf(entries: Iterable<DlqEntry>): { reason: string; count: number }[] {
  const reasons = new Map<string, number>();
  for (const { reason } of entries) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  return [...reasons]
    .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_REASONS)
    .map(([reason, count]) => ({ reason, count }));
}
