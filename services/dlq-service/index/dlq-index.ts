// The in-memory DLQ index. Entries are kept in one array sorted by (time,
// partition, offset), so newest-first pages, time ranges and cursors are
// binary searches plus a scan; and per DLQ partition in offset order, so a
// lookup by id is a binary search too. Records mostly arrive in time order;
// when one does not, the array is re-sorted on the next read (TimSort on
// nearly sorted data is close to linear). Beside the entries, columns of
// small integer codes (failure class, product) in the same order: filtering
// 100k entries on those reads two packed arrays instead of 100k objects.
import type { Position } from './cursor.ts';
import type { DlqEntry } from './entry.ts';
import type { CompiledFilter } from './filter.ts';

export interface Page {
  items: DlqEntry[];
  /** Records that match the filter, on every page. */
  total: number;
  /** Where the next page starts; null on the last page. */
  next: Position | null;
}

const compare = (a: Position, b: Position) => a.time - b.time || a.partition - b.partition || a.offset - b.offset;

/** Matches entry i of the index, given its columns; see DlqIndex.matcher. */
type Matcher = (i: number) => boolean;

/** Code of an absent value (no failure class header, an undecodable order). */
const ABSENT = 0;

export class DlqIndex {
  private readonly entries: DlqEntry[] = [];
  private unsorted = false;
  private readonly partitions = new Map<number, DlqEntry[]>();
  private readonly classColumn: number[] = [];
  private readonly productColumn: number[] = [];
  /** Failure classes and products, each to a code above ABSENT. */
  private readonly codes = new Map<string, number>();

  get size(): number {
    return this.entries.length;
  }

  /** Adds a record; false when it is already indexed (a consumer that re-reads after a rejoin). */
  add(entry: DlqEntry): boolean {
    let partition = this.partitions.get(entry.partition);
    if (partition === undefined) {
      partition = [];
      this.partitions.set(entry.partition, partition);
    }
    const last = partition.at(-1);
    if (last !== undefined && last.offset >= entry.offset) return false;
    partition.push(entry);
    const newest = this.entries.at(-1);
    if (newest !== undefined && compare(newest, entry) > 0) this.unsorted = true;
    this.entries.push(entry);
    this.pushColumns(entry);
    return true;
  }

  private pushColumns(entry: DlqEntry): void {
    this.classColumn.push(this.codeFor(entry.failureClass));
    const product = entry.order?.product;
    this.productColumn.push(this.codeFor(typeof product === 'string' ? product : null));
  }

  private codeFor(value: string | null): number {
    if (value === null) return ABSENT;
    let code = this.codes.get(value);
    if (code === undefined) {
      code = this.codes.size + 1;
      this.codes.set(value, code);
    }
    return code;
  }

  /**
   * The filter as a test of entry i: the column conditions first, then the
   * rest on the entry itself. Null when every entry in range matches.
   * A value no entry carries gets code -1, which matches nothing.
   */
  private matcher(filter: CompiledFilter): Matcher | null {
    const { classColumn, productColumn, entries } = this;
    const { rest } = filter;
    if (filter.failureClass === undefined && filter.product === undefined && rest === null) return null;
    const classCode = filter.failureClass === undefined ? undefined : (this.codes.get(filter.failureClass) ?? -1);
    const productCode = filter.product === undefined ? undefined : (this.codes.get(filter.product) ?? -1);
    return (i) =>
      (classCode === undefined || classColumn[i] === classCode) &&
      (productCode === undefined || productColumn[i] === productCode) &&
      (rest === null || rest(entries[i]!));
  }

  get(partition: number, offset: number): DlqEntry | undefined {
    const entries = this.partitions.get(partition) ?? [];
    let [low, high] = [0, entries.length];
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (entries[middle]!.offset < offset) low = middle + 1;
      else high = middle;
    }
    const found = entries[low];
    return found?.offset === offset ? found : undefined;
  }

  /** Newest first, starting after `after` (a cursor position). */
  page(filter: CompiledFilter, limit: number, after?: Position): Page {
    const [low, high] = this.range(filter);
    const start = after === undefined ? high : Math.min(high, this.lowerBound(after));
    const matches = this.matcher(filter);
    if (matches === null) {
      // The unfiltered list (the dashboard's): the page is a slice and the
      // total the range's size, instead of a scan of every entry per request.
      const end = Math.max(low, start);
      const first = Math.max(low, end - limit);
      const items = this.entries.slice(first, end).reverse();
      const last = items.at(-1);
      return {
        items,
        total: high - low,
        next:
          first > low && last !== undefined
            ? { time: last.time, partition: last.partition, offset: last.offset }
            : null,
      };
    }
    const items: DlqEntry[] = [];
    let total = 0;
    let beyond = 0;
    for (let i = high - 1; i >= low; i -= 1) {
      if (!matches(i)) continue;
      total += 1;
      if (i >= start) continue;
      if (items.length < limit) items.push(this.entries[i]!);
      else beyond += 1;
    }
    const last = items.at(-1);
    return {
      items,
      total,
      next:
        beyond > 0 && last !== undefined ? { time: last.time, partition: last.partition, offset: last.offset } : null,
    };
  }

  /** Oldest first, at most `limit`, and how many match in all. */
  select(filter: CompiledFilter, limit: number): { items: DlqEntry[]; total: number } {
    const [low, high] = this.range(filter);
    const matches = this.matcher(filter);
    const items: DlqEntry[] = [];
    let total = 0;
    for (let i = low; i < high; i += 1) {
      if (matches !== null && !matches(i)) continue;
      total += 1;
      if (items.length < limit) items.push(this.entries[i]!);
    }
    return { items, total };
  }

  forEach(filter: CompiledFilter, visit: (entry: DlqEntry) => void): void {
    const [low, high] = this.range(filter);
    const matches = this.matcher(filter);
    for (let i = low; i < high; i += 1) {
      if (matches === null || matches(i)) visit(this.entries[i]!);
    }
  }

  /** Index bounds [low, high) of the entries within the filter's time range. */
  private range(filter: CompiledFilter): [number, number] {
    if (this.unsorted) {
      this.entries.sort(compare);
      this.classColumn.length = 0;
      this.productColumn.length = 0;
      for (const entry of this.entries) this.pushColumns(entry);
      this.unsorted = false;
    }
    const low =
      filter.fromMs === Number.NEGATIVE_INFINITY
        ? 0
        : this.lowerBound({ time: filter.fromMs, partition: -1, offset: -1 });
    const high =
      filter.toMs === Number.POSITIVE_INFINITY
        ? this.entries.length
        : this.lowerBound({ time: filter.toMs, partition: -1, offset: -1 });
    return [low, Math.max(low, high)];
  }

  /** The first index whose entry sorts at or after `position`. */
  private lowerBound(position: Position): number {
    let [low, high] = [0, this.entries.length];
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compare(this.entries[middle]!, position) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
