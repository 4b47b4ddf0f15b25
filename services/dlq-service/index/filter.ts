// The filters GET /dlq, GET /dlq/stats and POST /dlq/replay share, compiled
// once per request into a time range (which the index turns into a slice of
// its sorted entries), equality conditions on failure class and product
// (which the index answers from columns of codes) and a predicate for what
// remains.
import type { DlqFilter } from '../../lib/dlq.ts';
import type { DlqEntry } from './entry.ts';

export interface CompiledFilter {
  fromMs: number;
  toMs: number;
  /**
   * Equality conditions the index answers from its columns of small codes,
   * without touching the entries (a scan of 100k entry objects is bound by
   * memory, not by the comparisons).
   */
  failureClass?: string;
  product?: string;
  /** The other conditions; null when there are none. */
  rest: ((entry: DlqEntry) => boolean) | null;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `replays(entry)` says how often the record was replayed (from the replay state). */
export function compileFilter(filter: DlqFilter, replays: (entry: DlqEntry) => number): CompiledFilter {
  const tests: ((entry: DlqEntry) => boolean)[] = [];
  const { orderId, replayed } = filter;
  if (orderId !== undefined) tests.push((entry) => entry.order?.orderId === orderId);
  if (filter.reason !== undefined) {
    const pattern = new RegExp(escapeRegExp(filter.reason), 'i');
    tests.push((entry) => entry.message !== null && pattern.test(entry.message));
  }
  if (filter.q !== undefined) {
    const pattern = new RegExp(escapeRegExp(filter.q), 'i');
    tests.push((entry) => {
      const id = entry.order?.orderId ?? entry.key?.toString();
      const product = entry.order?.product;
      return (
        (typeof id === 'string' && pattern.test(id)) ||
        (typeof product === 'string' && pattern.test(product)) ||
        (entry.message !== null && pattern.test(entry.message))
      );
    });
  }
  if (replayed !== undefined) tests.push((entry) => replays(entry) > 0 === replayed);
  return {
    fromMs: filter.from === undefined ? Number.NEGATIVE_INFINITY : Date.parse(filter.from),
    toMs: filter.to === undefined ? Number.POSITIVE_INFINITY : Date.parse(filter.to),
    failureClass: filter.failureClass,
    product: filter.product,
    rest: tests.length === 0 ? null : tests.length === 1 ? tests[0]! : (entry) => tests.every((test) => test(entry)),
  };
}
