// The DLQ archive: every dead letter the service has read, in SQLite
// (node:sqlite, built into Node 24), so that it survives restarts and Kafka's
// retention, and memory stays flat however many there are. One row per dead
// letter: the columns the API filters, sorts and counts on, indexed, and the
// whole entry (key, value, headers, decoded order) as one v8-serialized blob,
// which keeps Buffers, NaN and Infinity as they were. Text search (q, reason)
// goes through an FTS5 table with the trigram tokenizer: case-insensitive
// substring matches, as the API promises, answered from an index. Beside the
// rows, the next offset to read of each DLQ partition (a restart resumes
// there) and the identity of what was archived (cluster and topic).
//
// A rebuild (an archive emptied, or a new one, read from the topic's start)
// writes each row and its time index only; the text to index waits in a
// plain table, and the other indexes are left out. When the rebuild has read
// to the end, finishRebuild() builds them in bulk: a million dead letters are
// archived in about half the time that keeping every index current costs.
// Text search answers only once that is done (see `rebuilding`).
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { deserialize, serialize } from 'node:v8';
import { FAILURE_CLASSES, type DlqFilter } from '../../lib/dlq.ts';
import type { Position } from './cursor.ts';
import type { DlqEntry } from './entry.ts';
import { LruMap } from './lru-map.ts';
import { MAX_REASONS, NONE, type DlqSummary } from './summary.ts';

export interface Page {
  items: DlqEntry[];
  /** Records that match the filter, on every page. */
  total: number;
  /** Where the next page starts; null on the last page. */
  next: Position | null;
}

/** What an archive was written from; a different one means it must be rebuilt. */
export interface ArchiveIdentity {
  clusterId: string;
  topic: string;
}

const SCHEMA_VERSION = '5';
const MINUTE_MS = 60_000;
const MINUTES = 60;
/**
 * A minute_class tally's key starts with the minute (since the epoch) zero-padded to this many digits, so that
 * keys sort by time and the last hour is a range of the tallies' primary key, however long the archive reaches back.
 */
const MINUTE_DIGITS = 10;
/** Entries kept deserialized (a few MB): twenty pages of the dashboard (50 each). */
const RECENT_ENTRIES = 1000;
/** Below three characters the trigram index cannot answer; LIKE scans the text table instead. */
const TRIGRAM = 3;

const META = 'CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;';
/** Every table but meta (which says the format): dropped when the archive was written in another format. */
const TABLES = ['dead_letters', 'search', 'staged_search', 'positions', 'tallies'];

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS positions (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    time INTEGER NOT NULL,
    failure_class TEXT,
    product TEXT,
    order_id TEXT,
    reason TEXT NOT NULL,
    replays INTEGER NOT NULL DEFAULT 0,
    entry BLOB NOT NULL,
    UNIQUE (partition, offset)
  );
  CREATE INDEX IF NOT EXISTS by_time ON dead_letters (time, partition, offset);
  CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (ident, product, message, tokenize = 'trigram');
  -- During a rebuild: the text of the rows archived, to go into search once the rebuild has read to the end.
  CREATE TABLE IF NOT EXISTS staged_search (id INTEGER PRIMARY KEY, ident TEXT, product TEXT, message TEXT);
  -- The counts of the unfiltered GET /dlq/stats (the dashboard's) and of the dead letters per minute by class
  -- (GET /stats/history), kept as rows come and go (dimensions: class, product, reason, minute_class, replayed):
  -- a read of a few small rows instead of a scan per request.
  CREATE TABLE IF NOT EXISTS tallies (
    dimension TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (dimension, key)
  ) WITHOUT ROWID;
`;

/** The indexes a rebuild leaves out until it has read to the end (by_time stays: lists and pruning use it). */
const DEFERRED_INDEXES: Record<string, string> = {
  by_class: 'dead_letters (failure_class, time, partition, offset)',
  by_product: 'dead_letters (product, time, partition, offset)',
  by_class_product: 'dead_letters (failure_class, product, time, partition, offset)',
  by_order: 'dead_letters (order_id)',
};

const createDeferredIndexes = () =>
  Object.entries(DEFERRED_INDEXES)
    .map(([name, on]) => `CREATE INDEX IF NOT EXISTS ${name} ON ${on};`)
    .join('\n');

/** The columns of a row that its tallies count. */
interface Row {
  failure_class: string | null;
  product: string | null;
  reason: string;
  replays: number;
  time: number;
}

function rowOf(entry: DlqEntry, replays: number): Row {
  return {
    failure_class: entry.failureClass,
    product: text(entry.order?.product),
    reason: entry.reason,
    replays,
    time: entry.time,
  };
}

/** Changes to the tallies, summed before they are written (one upsert per key, not per row). */
class Tallies {
  private readonly changes = new Map<string, number>();

  add(dimension: string, key: string, n: number): this {
    const id = `${dimension}\u0000${key}`;
    this.changes.set(id, (this.changes.get(id) ?? 0) + n);
    return this;
  }

  count(row: Row, n: number): this {
    return this.add('class', row.failure_class ?? NONE, n)
      .add('product', row.product ?? NONE, n)
      .add('reason', row.reason, n)
      .add('minute_class', minuteClassKey(Math.floor(row.time / MINUTE_MS), row.failure_class ?? NONE), n)
      .add('replayed', '', row.replays > 0 ? n : 0);
  }

  entries(): [string, string, number][] {
    return [...this.changes].flatMap(([id, n]) => {
      const [dimension, key] = id.split('\u0000') as [string, string];
      return n === 0 ? [] : [[dimension, key, n] as [string, string, number]];
    });
  }
}

/** A minute_class key: `<minute, zero-padded>|<failure class>`. */
const minuteClassKey = (minute: number, failureClass: string) =>
  `${String(minute).padStart(MINUTE_DIGITS, '0')}|${failureClass}`;

/** The last hour, as the minute (since the epoch) of its first whole minute: the last one holds `now`. */
const firstMinuteOfHour = (now: number) => Math.floor(now / MINUTE_MS) - (MINUTES - 1);

/** Per minute of the last hour (the minute_class tallies, oldest first): the minutes and the counts by class. */
export interface PerMinuteByClass {
  minutes: string[];
  /** Every failure class, with zeros where there were none, and any other class a record carried. */
  byFailureClass: Record<string, number[]>;
}

/** A WHERE clause and its parameters. */
interface Where {
  sql: string;
  params: SQLInputValue[];
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** A LIKE pattern that matches `term` anywhere, its wildcards taken literally (ESCAPE '\'). */
const containing = (term: string) => `%${term.replace(/[\\%_]/g, '\\$&')}%`;

/** An FTS5 query for the phrase `term` (quotes doubled), optionally in one column. */
const phrase = (term: string, column?: string) =>
  `${column === undefined ? '' : `${column} : `}"${term.replaceAll('"', '""')}"`;

/** Filtered totals kept (see `totals`). */
const TOTALS_KEPT = 100;

export class DlqArchive {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private count = 0;
  private rebuildUnderWay = false;
  /**
   * The entries read most recently, deserialized, by `<partition>-<offset>`
   * (unique in one incarnation of the topic; a reset forgets them). A page
   * asked for again (the dashboard's first page, every few seconds) is then
   * a read of its positions only. An entry never changes once archived.
   */
  private readonly recent = new LruMap<string, DlqEntry>(RECENT_ENTRIES);
  /** Write transactions so far: a total counted since the last one still holds. */
  private writes = 0;
  /**
   * The totals of filtered lists by query, with the write they were counted
   * after: a list asked for again (the dashboard's, every few seconds; a text
   * query's next page) pays for its page only while nothing was written.
   */
  private readonly totals = new LruMap<string, { writes: number; total: number }>(TOTALS_KEPT);

  /** `path`: the SQLite file (created when missing), or ":memory:". */
  constructor(readonly path: string) {
    this.db = new DatabaseSync(path);
    // WAL: readers never wait for the writer; NORMAL sync is durable across a process crash (not a power cut),
    // and the topic is there to rebuild from.
    // busy_timeout: another process on the same file (two instances by mistake) makes a writer wait, not fail.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(META);
    // Another format's tables may lack columns this code writes: they go (adopt() says why and rebuilds).
    const format = this.sql("SELECT value FROM meta WHERE key = 'schema'").get()?.value;
    if (format !== undefined && format !== SCHEMA_VERSION) {
      this.db.exec(TABLES.map((table) => `DROP TABLE IF EXISTS ${table};`).join(''));
    }
    this.db.exec(SCHEMA);
    this.rebuildUnderWay = this.sql("SELECT 1 FROM meta WHERE key = 'rebuilding'").get() !== undefined;
    if (!this.rebuildUnderWay) this.db.exec(createDeferredIndexes());
    this.count = Number(this.sql('SELECT count(*) AS n FROM dead_letters').get()!.n);
  }

  /**
   * A rebuild is under way: the archive is being filled from the topic's
   * start, and text search (q, reason) cannot answer until finishRebuild()
   * has indexed what it read.
   */
  get rebuilding(): boolean {
    return this.rebuildUnderWay;
  }

  close(): void {
    this.db.close();
  }

  get size(): number {
    return this.count;
  }

  private sql(query: string): StatementSync {
    let statement = this.statements.get(query);
    if (statement === undefined) {
      statement = this.db.prepare(query);
      this.statements.set(query, statement);
    }
    return statement;
  }

  private transaction<T>(body: () => T): T {
    const count = this.count;
    this.writes += 1;
    this.db.exec('BEGIN');
    try {
      const result = body();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      this.count = count; // what the rolled-back statements counted did not happen
      throw error;
    }
  }

  /**
   * Checks that the archive was written from this cluster and topic, with a
   * schema this code reads; when not (or when it is new), empties it and
   * records the identity. Returns why it was emptied, or null when it is kept.
   */
  adopt(identity: ArchiveIdentity): string | null {
    const stored = Object.fromEntries(
      (this.sql('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((row) => [
        row.key,
        row.value,
      ]),
    );
    const why =
      stored.schema === undefined
        ? 'no archive yet'
        : stored.schema !== SCHEMA_VERSION
          ? `it was written in format ${stored.schema}, this service reads ${SCHEMA_VERSION}`
          : stored.rebuilding !== undefined
            ? 'its last rebuild did not finish'
            : stored.clusterId !== identity.clusterId
              ? `it was written from cluster ${stored.clusterId}, the broker is cluster ${identity.clusterId}`
              : stored.topic !== identity.topic
                ? `it was written from topic ${stored.topic}, the service reads ${identity.topic}`
                : null;
    if (why !== null) this.reset({ schema: SCHEMA_VERSION, ...identity });
    return why;
  }

  /**
   * Empties the archive (a new incarnation of the topic, or another cluster),
   * records `meta`, and starts a rebuild: until finishRebuild(), rows go in
   * without their text index and the deferred indexes.
   */
  reset(meta: Record<string, string> = {}): void {
    this.transaction(() => {
      this.db.exec(
        'DELETE FROM dead_letters; DELETE FROM search; DELETE FROM staged_search; DELETE FROM positions; ' +
          'DELETE FROM tallies;',
      );
      for (const name of Object.keys(DEFERRED_INDEXES)) this.db.exec(`DROP INDEX IF EXISTS ${name}`);
      for (const [key, value] of Object.entries({ ...meta, rebuilding: '1' })) {
        this.sql('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
      }
    });
    this.count = 0;
    this.rebuildUnderWay = true;
    this.recent.clear();
  }

  /**
   * Moves at most `chunk` rows' text from the staging table into the text
   * index; once none is left, builds the deferred indexes and ends the
   * rebuild. Returns true when the rebuild is over; false when there may be
   * more (a caller with many rows calls again, letting other work run in
   * between).
   */
  finishRebuild(chunk = Number.MAX_SAFE_INTEGER): boolean {
    if (!this.rebuildUnderWay) return true;
    const done = this.transaction(() => {
      const { changes } = this.sql(
        'INSERT INTO search (rowid, ident, product, message) ' +
          'SELECT id, ident, product, message FROM staged_search ORDER BY id LIMIT ?',
      ).run(chunk);
      this.sql('DELETE FROM staged_search WHERE id IN (SELECT id FROM staged_search ORDER BY id LIMIT ?)').run(changes);
      if (changes === chunk) return false; // perhaps more
      this.db.exec(createDeferredIndexes());
      this.sql("DELETE FROM meta WHERE key = 'rebuilding'").run();
      return true;
    });
    if (done) this.rebuildUnderWay = false;
    return done;
  }

  /** Per DLQ partition, the offset to read next (after the last record and marker archived). */
  positions(): Map<number, bigint> {
    const rows = this.sql('SELECT partition, next_offset FROM positions').all() as {
      partition: number;
      next_offset: number;
    }[];
    return new Map(rows.map((row) => [row.partition, BigInt(row.next_offset)]));
  }

  /**
   * Archives a batch of one partition and where reading it goes on, in one
   * transaction; a record already archived (read again after a rejoin) is
   * skipped. Returns how many were new.
   */
  addBatch(
    partition: number,
    entries: readonly DlqEntry[],
    nextOffset: bigint,
    replaysOf: (entry: DlqEntry) => number = () => 0,
  ): number {
    return this.transaction(() => {
      let added = 0;
      const tallies = new Tallies();
      for (const entry of entries) {
        const replays = replaysOf(entry);
        if (!this.insert(entry, replays)) continue;
        added += 1;
        tallies.count(rowOf(entry, replays), 1);
      }
      this.addTallies(tallies);
      this.sql(
        'INSERT INTO positions (partition, next_offset) VALUES (?, ?) ' +
          'ON CONFLICT (partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)',
      ).run(partition, nextOffset);
      return added;
    });
  }

  /** Archives one record (tests); false when it is already there. */
  add(entry: DlqEntry): boolean {
    return this.transaction(() => {
      if (!this.insert(entry, 0)) return false;
      this.addTallies(new Tallies().count(rowOf(entry, 0), 1));
      return true;
    });
  }

  private addTallies(tallies: Tallies): void {
    const upsert = this.sql(
      'INSERT INTO tallies (dimension, key, n) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n',
    );
    for (const [dimension, key, n] of tallies.entries()) upsert.run(dimension, key, n);
  }

  private insert(entry: DlqEntry, replays: number): boolean {
    const product = text(entry.order?.product);
    const orderId = text(entry.order?.orderId);
    const { changes, lastInsertRowid } = this.sql(
      'INSERT OR IGNORE INTO dead_letters (partition, offset, time, failure_class, product, order_id, reason, ' +
        'replays, entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(
      entry.partition,
      entry.offset,
      entry.time,
      entry.failureClass,
      product,
      orderId,
      entry.reason,
      replays,
      serialize(entry),
    );
    if (changes === 0) return false;
    // Lower-cased, as the terms are: LIKE (for short terms) folds ASCII letters only.
    const into = this.rebuildUnderWay ? 'staged_search (id' : 'search (rowid';
    this.sql(`INSERT INTO ${into}, ident, product, message) VALUES (?, ?, ?, ?)`).run(
      lastInsertRowid,
      (orderId ?? entry.key?.toString())?.toLowerCase() ?? null,
      product?.toLowerCase() ?? null,
      entry.message?.toLowerCase() ?? null,
    );
    this.count += 1;
    return true;
  }

  /** Mirrors the replay state (orders-dlq-replays, the source of truth) for the `replayed` filter and counts. */
  setReplays(partition: number, offset: number, replays: number): void {
    this.transaction(() => {
      const before = this.sql('SELECT replays FROM dead_letters WHERE partition = ? AND offset = ?').get(
        partition,
        offset,
      );
      if (before === undefined) return;
      this.sql('UPDATE dead_letters SET replays = ? WHERE partition = ? AND offset = ?').run(
        replays,
        partition,
        offset,
      );
      const change = Number(replays > 0) - Number((before.replays as number) > 0);
      if (change !== 0) this.addTallies(new Tallies().add('replayed', '', change));
    });
  }

  /** One dead letter; the most recently read are kept deserialized (see `recent`). */
  get(partition: number, offset: number): DlqEntry | undefined {
    const key = `${partition}-${offset}`;
    const kept = this.recent.get(key);
    if (kept !== undefined) return kept;
    const row = this.sql('SELECT entry FROM dead_letters WHERE partition = ? AND offset = ?').get(partition, offset);
    if (row === undefined) return undefined;
    const entry = deserialize(row.entry as Uint8Array) as DlqEntry;
    this.recent.set(key, entry);
    return entry;
  }

  /** Newest first, starting after `after` (a cursor position). */
  page(filter: DlqFilter, limit: number, after?: Position): Page {
    const where = this.where(filter);
    const cursor: Where =
      after === undefined
        ? { sql: '', params: [] }
        : { sql: ' AND (time, partition, offset) < (?, ?, ?)', params: [after.time, after.partition, after.offset] };
    const rows = this.sql(
      `SELECT partition, offset FROM dead_letters WHERE ${where.sql}${cursor.sql} ` +
        'ORDER BY time DESC, partition DESC, offset DESC LIMIT ?',
    ).all(...where.params, ...cursor.params, limit + 1) as { partition: number; offset: number }[];
    const items = rows.slice(0, limit).map(({ partition, offset }) => this.get(partition, offset)!);
    const last = items.at(-1);
    return {
      items,
      // A first page that holds every match counts them itself.
      total: after === undefined && rows.length <= limit ? rows.length : this.total(where),
      next:
        rows.length > limit && last !== undefined
          ? { time: last.time, partition: last.partition, offset: last.offset }
          : null,
    };
  }

  /** Oldest first, at most `limit`, and how many match in all (a bulk replay). */
  select(filter: DlqFilter, limit: number): { items: DlqEntry[]; total: number } {
    const where = this.where(filter);
    const rows = this.sql(
      `SELECT entry FROM dead_letters WHERE ${where.sql} ORDER BY time, partition, offset LIMIT ?`,
    ).all(...where.params, limit);
    return {
      items: rows.map((row) => deserialize(row.entry as Uint8Array) as DlqEntry),
      total: this.total(where),
    };
  }

  private total(where: Where): number {
    // No condition: the count kept as records come and go, not a count of every row per request.
    if (where.sql === '1') return this.count;
    const key = `${where.sql}\n${JSON.stringify(where.params)}`;
    const known = this.totals.get(key);
    if (known?.writes === this.writes) return known.total;
    const total = Number(this.sql(`SELECT count(*) AS n FROM dead_letters WHERE ${where.sql}`).get(...where.params)!.n);
    this.totals.set(key, { writes: this.writes, total });
    return total;
  }

  /** GET /dlq/stats: counts over what matches, by SQL aggregates over indexed columns. */
  summary(filter: DlqFilter, now: number): DlqSummary {
    const where = this.where(filter);
    const unfiltered = where.sql === '1';
    const from = `FROM dead_letters WHERE ${where.sql}`;
    // Unfiltered: the tallies and the ends of the time index. Filtered: aggregates over the matching rows.
    const totals = (
      unfiltered
        ? this.sql(
            `SELECT ${this.count} AS total, ` +
              `coalesce((SELECT n FROM tallies WHERE dimension = 'replayed'), 0) AS replayed, ` +
              '(SELECT min(time) FROM dead_letters) AS oldest, (SELECT max(time) FROM dead_letters) AS newest',
          ).get()
        : this.sql(
            `SELECT count(*) AS total, coalesce(sum(replays > 0), 0) AS replayed, min(time) AS oldest, ` +
              `max(time) AS newest ${from}`,
          ).get(...where.params)
    ) as { total: number; replayed: number; oldest: number | null; newest: number | null };
    const counts = (column: string, dimension: string) =>
      Object.fromEntries(
        (
          (unfiltered
            ? this.sql('SELECT key AS k, n FROM tallies WHERE dimension = ? AND n > 0').all(dimension)
            : this.sql(`SELECT coalesce(${column}, '${NONE}') AS k, count(*) AS n ${from} GROUP BY 1`).all(
                ...where.params,
              )) as { k: string; n: number }[]
        ).map(({ k, n }) => [k, n]),
      );
    const byReason = (
      unfiltered
        ? this.sql(
            `SELECT key AS reason, n AS count FROM tallies WHERE dimension = 'reason' AND n > 0 ` +
              `ORDER BY n DESC, key LIMIT ${MAX_REASONS}`,
          ).all()
        : this.sql(
            `SELECT reason, count(*) AS count ${from} GROUP BY reason ORDER BY count DESC, reason LIMIT ${MAX_REASONS}`,
          ).all(...where.params)
    ) as { reason: string; count: number }[];
    const first = firstMinuteOfHour(now);
    const firstMinute = first * MINUTE_MS;
    const minutes = new Array<number>(MINUTES).fill(0);
    const perMinute = (
      unfiltered
        ? this.minuteClassTallies(first)
        : this.sql(
            // A JS number is bound as a double: the cast makes the minute a whole number.
            `SELECT CAST(time / ${MINUTE_MS} AS INTEGER) - ? AS m, count(*) AS n ${from} AND time >= ? AND time < ? ` +
              'GROUP BY m',
          ).all(first, ...where.params, firstMinute, firstMinute + MINUTES * MINUTE_MS)
    ) as { m: number; n: number }[];
    for (const { m, n } of perMinute) minutes[m]! += n;
    return {
      total: totals.total,
      replayed: totals.replayed,
      byFailureClass: counts('failure_class', 'class'),
      byProduct: counts('product', 'product'),
      byReason: byReason.map(({ reason, count }) => ({ reason, count })),
      perMinute: minutes.map((count, i) => ({ minute: new Date(firstMinute + i * MINUTE_MS).toISOString(), count })),
      oldest: totals.oldest === null ? null : new Date(totals.oldest).toISOString(),
      newest: totals.newest === null ? null : new Date(totals.newest).toISOString(),
    };
  }

  /** The minute_class tallies of the hour that starts at minute `first`: its minute (0 to 59), class and count. */
  private minuteClassTallies(first: number): { m: number; failureClass: string; n: number }[] {
    return this.sql(
      `SELECT CAST(substr(key, 1, ${MINUTE_DIGITS}) AS INTEGER) - ? AS m, substr(key, ${MINUTE_DIGITS + 2}) ` +
        "AS failureClass, n FROM tallies WHERE dimension = 'minute_class' AND key >= ? AND key < ? AND n > 0",
    ).all(first, minuteClassKey(first, ''), minuteClassKey(first + MINUTES, '')) as {
      m: number;
      failureClass: string;
      n: number;
    }[];
  }

  /** Dead letters per minute of the last hour by failure class (GET /stats/history), from the tallies. */
  perMinuteByClass(now: number): PerMinuteByClass {
    const first = firstMinuteOfHour(now);
    const byClass = new Map<string, number[]>(FAILURE_CLASSES.map((name) => [name, new Array(MINUTES).fill(0)]));
    for (const { m, failureClass, n } of this.minuteClassTallies(first)) {
      const counts = byClass.get(failureClass) ?? new Array<number>(MINUTES).fill(0);
      byClass.set(failureClass, counts);
      counts[m] = n;
    }
    return {
      minutes: Array.from({ length: MINUTES }, (_, i) => new Date((first + i) * MINUTE_MS).toISOString()),
      // fromEntries defines own data properties: a class named `__proto__` is a class like any other.
      byFailureClass: Object.fromEntries(byClass),
    };
  }

  /**
   * Drops the oldest records beyond the bounds (older than `maxAgeMs`, or
   * beyond `maxRecords`), at most `chunk` of them: a caller with many to drop
   * calls again, letting other work run in between. Returns how many went.
   */
  prune(
    now: number,
    { maxAgeMs, maxRecords }: { maxAgeMs: number; maxRecords: number },
    chunk = Number.MAX_SAFE_INTEGER,
  ): number {
    return this.transaction(() => {
      const removed = this.removeWhere(
        'id IN (SELECT id FROM dead_letters WHERE time < ? ORDER BY time, partition, offset LIMIT ?)',
        [now - maxAgeMs, chunk],
      );
      const excess = Math.min(this.count - maxRecords, chunk - removed);
      if (excess <= 0) return removed;
      return (
        removed +
        this.removeWhere('id IN (SELECT id FROM dead_letters ORDER BY time, partition, offset LIMIT ?)', [excess])
      );
    });
  }

  /** Forgets every replay count (before the replay state is read again, which sets them anew). */
  clearReplays(): void {
    this.transaction(() => {
      this.sql('UPDATE dead_letters SET replays = 0 WHERE replays > 0').run();
      this.sql("DELETE FROM tallies WHERE dimension = 'replayed'").run();
    });
  }

  private removeWhere(condition: string, params: SQLInputValue[]): number {
    const gone = this.sql(
      `SELECT failure_class, product, reason, replays, time, count(*) AS n FROM dead_letters WHERE ${condition} ` +
        'GROUP BY failure_class, product, reason, replays > 0, time / 60000',
    ).all(...params) as unknown as (Row & { n: number })[];
    const tallies = new Tallies();
    for (const row of gone) tallies.count(row, -row.n);
    this.addTallies(tallies);
    this.sql(`DELETE FROM search WHERE rowid IN (SELECT id FROM dead_letters WHERE ${condition})`).run(...params);
    this.sql(`DELETE FROM staged_search WHERE id IN (SELECT id FROM dead_letters WHERE ${condition})`).run(...params);
    const { changes } = this.sql(`DELETE FROM dead_letters WHERE ${condition}`).run(...params);
    this.count -= Number(changes);
    // A pruned record must not be found by its id any more.
    if (Number(changes) > 0) this.recent.clear();
    return Number(changes);
  }

  /** The filter as SQL over the indexed columns; text conditions through the search table. */
  private where(filter: DlqFilter): Where {
    const conditions: string[] = [];
    const params: SQLInputValue[] = [];
    const add = (sql: string, ...values: SQLInputValue[]) => {
      conditions.push(sql);
      params.push(...values);
    };
    if (filter.from !== undefined) add('time >= ?', Date.parse(filter.from));
    if (filter.to !== undefined) add('time < ?', Date.parse(filter.to));
    if (filter.failureClass !== undefined) add('failure_class = ?', filter.failureClass);
    if (filter.product !== undefined) add('product = ?', filter.product);
    if (filter.orderId !== undefined) add('order_id = ?', filter.orderId);
    if (filter.replayed !== undefined) add(filter.replayed ? 'replays > 0' : 'replays = 0');
    if (filter.reason !== undefined) this.textCondition(add, filter.reason, ['message']);
    if (filter.q !== undefined) this.textCondition(add, filter.q, ['ident', 'product', 'message']);
    return { sql: conditions.length === 0 ? '1' : conditions.join(' AND '), params };
  }

  private textCondition(add: (sql: string, ...values: SQLInputValue[]) => void, text: string, columns: string[]) {
    const term = text.toLowerCase();
    if ([...term].length >= TRIGRAM) {
      const query = columns.length === 1 ? phrase(term, columns[0]) : phrase(term);
      add('id IN (SELECT rowid FROM search WHERE search MATCH ?)', query);
    } else {
      const like = columns.map((column) => `${column} LIKE ? ESCAPE '\\'`).join(' OR ');
      add(`id IN (SELECT rowid FROM search WHERE ${like})`, ...columns.map(() => containing(term)));
    }
  }
}
