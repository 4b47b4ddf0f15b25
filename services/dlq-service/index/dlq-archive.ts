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
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { deserialize, serialize } from 'node:v8';
import type { DlqFilter } from '../../lib/dlq.ts';
import type { Position } from './cursor.ts';
import type { DlqEntry } from './entry.ts';
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

const SCHEMA_VERSION = '1';
const MINUTE_MS = 60_000;
const MINUTES = 60;
/** Below three characters the trigram index cannot answer; LIKE scans the text table instead. */
const TRIGRAM = 3;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
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
  CREATE INDEX IF NOT EXISTS by_class ON dead_letters (failure_class, time, partition, offset);
  CREATE INDEX IF NOT EXISTS by_product ON dead_letters (product, time, partition, offset);
  CREATE INDEX IF NOT EXISTS by_order ON dead_letters (order_id);
  CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (ident, product, message, tokenize = 'trigram');
`;

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

export class DlqArchive {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private count = 0;

  /** `path`: the SQLite file (created when missing), or ":memory:". */
  constructor(readonly path: string) {
    this.db = new DatabaseSync(path);
    // WAL: readers never wait for the writer; NORMAL sync is durable across a process crash (not a power cut),
    // and the topic is there to rebuild from.
    // busy_timeout: another process on the same file (two instances by mistake) makes a writer wait, not fail.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
    this.count = Number(this.sql('SELECT count(*) AS n FROM dead_letters').get()!.n);
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
    this.db.exec('BEGIN');
    try {
      const result = body();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
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
          : stored.clusterId !== identity.clusterId
            ? `it was written from cluster ${stored.clusterId}, the broker is cluster ${identity.clusterId}`
            : stored.topic !== identity.topic
              ? `it was written from topic ${stored.topic}, the service reads ${identity.topic}`
              : null;
    if (why !== null) this.reset({ schema: SCHEMA_VERSION, ...identity });
    return why;
  }

  /** Empties the archive (a new incarnation of the topic, or another cluster) and records `meta`. */
  reset(meta: Record<string, string> = {}): void {
    this.transaction(() => {
      this.db.exec('DELETE FROM dead_letters; DELETE FROM search; DELETE FROM positions;');
      for (const [key, value] of Object.entries(meta)) {
        this.sql('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
      }
    });
    this.count = 0;
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
      for (const entry of entries) if (this.insert(entry, replaysOf(entry))) added += 1;
      this.sql(
        'INSERT INTO positions (partition, next_offset) VALUES (?, ?) ' +
          'ON CONFLICT (partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)',
      ).run(partition, nextOffset);
      return added;
    });
  }

  /** Archives one record (tests); false when it is already there. */
  add(entry: DlqEntry): boolean {
    return this.transaction(() => this.insert(entry, 0));
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
    this.sql('INSERT INTO search (rowid, ident, product, message) VALUES (?, ?, ?, ?)').run(
      lastInsertRowid,
      orderId ?? entry.key?.toString() ?? null,
      product,
      entry.message,
    );
    this.count += 1;
    return true;
  }

  /** Mirrors the replay state (orders-dlq-replays, the source of truth) for the `replayed` filter and counts. */
  setReplays(partition: number, offset: number, replays: number): void {
    this.sql('UPDATE dead_letters SET replays = ? WHERE partition = ? AND offset = ?').run(replays, partition, offset);
  }

  get(partition: number, offset: number): DlqEntry | undefined {
    const row = this.sql('SELECT entry FROM dead_letters WHERE partition = ? AND offset = ?').get(partition, offset);
    return row === undefined ? undefined : (deserialize(row.entry as Uint8Array) as DlqEntry);
  }

  /** Newest first, starting after `after` (a cursor position). */
  page(filter: DlqFilter, limit: number, after?: Position): Page {
    const where = this.where(filter);
    const cursor: Where =
      after === undefined
        ? { sql: '', params: [] }
        : { sql: ' AND (time, partition, offset) < (?, ?, ?)', params: [after.time, after.partition, after.offset] };
    const rows = this.sql(
      `SELECT entry FROM dead_letters WHERE ${where.sql}${cursor.sql} ` +
        'ORDER BY time DESC, partition DESC, offset DESC LIMIT ?',
    ).all(...where.params, ...cursor.params, limit + 1);
    const items = rows.slice(0, limit).map((row) => deserialize(row.entry as Uint8Array) as DlqEntry);
    const last = items.at(-1);
    return {
      items,
      total: this.total(where),
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
    return Number(this.sql(`SELECT count(*) AS n FROM dead_letters WHERE ${where.sql}`).get(...where.params)!.n);
  }

  /** GET /dlq/stats: counts over what matches, by SQL aggregates over indexed columns. */
  summary(filter: DlqFilter, now: number): DlqSummary {
    const where = this.where(filter);
    const from = `FROM dead_letters WHERE ${where.sql}`;
    const totals = this.sql(
      `SELECT count(*) AS total, coalesce(sum(replays > 0), 0) AS replayed, min(time) AS oldest, ` +
        `max(time) AS newest ${from}`,
    ).get(...where.params) as { total: number; replayed: number; oldest: number | null; newest: number | null };
    const counts = (column: string) =>
      Object.fromEntries(
        (
          this.sql(`SELECT coalesce(${column}, '${NONE}') AS k, count(*) AS n ${from} GROUP BY 1`).all(
            ...where.params,
          ) as { k: string; n: number }[]
        ).map(({ k, n }) => [k, n]),
      );
    const byReason = this.sql(
      `SELECT reason, count(*) AS count ${from} GROUP BY reason ORDER BY count DESC, reason LIMIT ${MAX_REASONS}`,
    ).all(...where.params) as { reason: string; count: number }[];
    const firstMinute = (Math.floor(now / MINUTE_MS) - (MINUTES - 1)) * MINUTE_MS;
    const minutes = new Array<number>(MINUTES).fill(0);
    const perMinute = this.sql(
      // A JS number is bound as a double: the cast makes the minute a whole number.
      `SELECT CAST((time - ?) / ${MINUTE_MS} AS INTEGER) AS m, count(*) AS n ${from} AND time >= ? AND time < ? ` +
        'GROUP BY m',
    ).all(firstMinute, ...where.params, firstMinute, firstMinute + MINUTES * MINUTE_MS) as { m: number; n: number }[];
    for (const { m, n } of perMinute) minutes[m] = n;
    return {
      total: totals.total,
      replayed: totals.replayed,
      byFailureClass: counts('failure_class'),
      byProduct: counts('product'),
      byReason: byReason.map(({ reason, count }) => ({ reason, count })),
      perMinute: minutes.map((count, i) => ({ minute: new Date(firstMinute + i * MINUTE_MS).toISOString(), count })),
      oldest: totals.oldest === null ? null : new Date(totals.oldest).toISOString(),
      newest: totals.newest === null ? null : new Date(totals.newest).toISOString(),
    };
  }

  /**
   * Drops the oldest records beyond the bounds: older than `maxAgeMs`, then
   * beyond `maxRecords`. Returns how many went.
   */
  prune(now: number, { maxAgeMs, maxRecords }: { maxAgeMs: number; maxRecords: number }): number {
    return this.transaction(() => {
      let removed = this.removeWhere('time < ?', [now - maxAgeMs]);
      const excess = this.count - maxRecords;
      if (excess > 0) {
        removed += this.removeWhere('id IN (SELECT id FROM dead_letters ORDER BY time, partition, offset LIMIT ?)', [
          excess,
        ]);
      }
      return removed;
    });
  }

  private removeWhere(condition: string, params: SQLInputValue[]): number {
    this.sql(`DELETE FROM search WHERE rowid IN (SELECT id FROM dead_letters WHERE ${condition})`).run(...params);
    const { changes } = this.sql(`DELETE FROM dead_letters WHERE ${condition}`).run(...params);
    this.count -= Number(changes);
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

  private textCondition(add: (sql: string, ...values: SQLInputValue[]) => void, term: string, columns: string[]) {
    if ([...term].length >= TRIGRAM) {
      const query = columns.length === 1 ? phrase(term, columns[0]) : phrase(term);
      add('id IN (SELECT rowid FROM search WHERE search MATCH ?)', query);
    } else {
      const like = columns.map((column) => `${column} LIKE ? ESCAPE '\\'`).join(' OR ');
      add(`id IN (SELECT rowid FROM search WHERE ${like})`, ...columns.map(() => containing(term)));
    }
  }
}
