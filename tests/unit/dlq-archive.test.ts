// The DLQ archive (SQLite) without Kafka: order, pages and cursors, time
// ranges, filters and text search, lookups, duplicates, positions, identity,
// bounds, the counts of GET /dlq/stats, and what survives a reopen.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { decodeCursor, encodeCursor } from '../../services/dlq-service/index/cursor.ts';
import { DlqArchive } from '../../services/dlq-service/index/dlq-archive.ts';
import type { DlqEntry } from '../../services/dlq-service/index/entry.ts';
import type { DlqFilter } from '../../services/lib/dlq.ts';
import { reasonOf } from '../../services/dlq-service/index/reason.ts';
import { NONE, reasonsOf } from '../../services/dlq-service/index/summary.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;

function entry(
  partition: number,
  offset: number,
  minute: number,
  fields: { product?: string; failureClass?: string; message?: string; orderId?: string } = {},
): DlqEntry {
  const message = fields.message ?? `price -${offset} is not positive`;
  return {
    partition,
    offset,
    time: T0 + minute * MINUTE,
    failedAt: T0 + minute * MINUTE,
    failureClass: fields.failureClass ?? 'invalid',
    exceptionClass: 'ValidationError',
    message,
    reason: reasonOf(message),
    stackHead: null,
    stackFrames: null,
    attempts: 1,
    consumerGroup: 'g',
    originTopic: 'orders',
    originPartition: partition,
    originOffset: String(offset),
    originTimestamp: null,
    replayCount: 0,
    replayFrom: null,
    replayAt: null,
    truncated: [],
    originalValue: null,
    originalKey: null,
    key: Buffer.from(fields.orderId ?? `o-${partition}-${offset}`),
    value: null,
    otherHeaders: null,
    schemaId: 1,
    order:
      fields.product === undefined
        ? null
        : { orderId: fields.orderId ?? `o-${partition}-${offset}`, product: fields.product, price: -offset },
    undecodable: null,
  };
}

const ids = (entries: { partition: number; offset: number | string }[]) =>
  entries.map((e) => `${e.partition}-${e.offset}`);
const all: DlqFilter = {};

function filled(): DlqArchive {
  const index = new DlqArchive(':memory:');
  // Three partitions read in turns, as a consumer fetches them: not in time order overall.
  for (const e of [
    entry(0, 0, 0, { product: 'mouse' }),
    entry(0, 1, 3, { product: 'keyboard' }),
    entry(1, 0, 1, { product: 'mouse', failureClass: 'retries-exhausted', message: 'downstream timed out' }),
    entry(1, 1, 4, { product: 'mouse' }),
    entry(2, 0, 2, { failureClass: 'undecodable', message: 'magic byte is 123, expected 0' }),
    entry(2, 1, 5, { product: 'chair', orderId: 'special-order' }),
  ]) {
    assert.equal(index.add(e), true);
  }
  return index;
}

describe('DLQ archive', () => {
  it('lists newest first whatever the order records arrived in', () => {
    assert.deepEqual(ids(filled().page(all, 10).items), ['2-1', '1-1', '0-1', '2-0', '1-0', '0-0']);
  });

  it('pages with cursors that survive records arriving in between', () => {
    const index = filled();
    const first = index.page(all, 4);
    assert.deepEqual(ids(first.items), ['2-1', '1-1', '0-1', '2-0']);
    assert.equal(first.total, 6);
    const cursor = encodeCursor(first.next!);
    index.add(entry(0, 2, 10));
    index.add(entry(1, 2, -5));
    const second = index.page(all, 4, decodeCursor(cursor));
    assert.deepEqual(ids(second.items), ['1-0', '0-0', '1-2']);
    assert.equal(second.next, null);
    assert.equal(second.total, 8);
  });

  it('has no next page when the last page is exactly full', () => {
    assert.equal(filled().page(all, 6).next, null);
    assert.notEqual(filled().page(all, 5).next, null);
  });

  it('filters, and counts what matches', () => {
    const index = filled();
    const page = (filter: DlqFilter) => index.page(filter, 10);
    assert.deepEqual(ids(page({ product: 'mouse' }).items), ['1-1', '1-0', '0-0']);
    assert.deepEqual(ids(page({ failureClass: 'undecodable' }).items), ['2-0']);
    assert.deepEqual(ids(page({ reason: 'TIMED OUT' }).items), ['1-0']);
    assert.deepEqual(ids(page({ orderId: 'special-order' }).items), ['2-1']);
    assert.deepEqual(ids(page({ q: 'SPECIAL' }).items), ['2-1']);
    assert.deepEqual(ids(page({ q: 'o-2-0' }).items), ['2-0'], 'the key, when there is no order');
    assert.deepEqual(ids(page({ q: '.*' }).items), [], 'text, not a pattern');
    assert.deepEqual(ids(page({ q: '%' }).items), [], 'LIKE wildcards are text too');
    assert.deepEqual(ids(page({ q: 'ch' }).items), ['2-1'], 'two characters: below the trigram index');
    assert.deepEqual(ids(page({ reason: 'ut' }).items), ['1-0']);
    assert.deepEqual(ids(page({ reason: 'chair' }).items), [], 'reason searches the message only');
    index.setReplays(1, 0, 1);
    index.setReplays(1, 1, 2);
    assert.deepEqual(ids(page({ replayed: true }).items), ['1-1', '1-0']);
    assert.deepEqual(ids(page({ replayed: false }).items), ['2-1', '0-1', '2-0', '0-0']);
    const range = page({ from: new Date(T0 + MINUTE).toISOString(), to: new Date(T0 + 4 * MINUTE).toISOString() });
    assert.deepEqual(ids(range.items), ['0-1', '2-0', '1-0'], 'from inclusive, to exclusive');
    assert.equal(range.total, 3);
    assert.equal(page({ product: 'mouse', from: new Date(T0 + MINUTE).toISOString() }).total, 2);
  });

  it('counts a filtered list again once anything was written, not before', () => {
    const index = filled();
    const mice = (limit: number) => index.page({ product: 'mouse' }, limit).total;
    const special = () => index.page({ q: 'special' }, 1).total;
    assert.equal(mice(1), 3);
    assert.equal(special(), 1);
    index.add(entry(0, 2, 6, { product: 'mouse', orderId: 'special-2' }));
    assert.equal(mice(1), 4, 'a record added');
    assert.equal(special(), 2, 'a page of one, two matches');
    index.setReplays(0, 2, 1);
    assert.equal(index.page({ product: 'mouse', replayed: true }, 1).total, 1, 'a replay marked');
    index.prune(T0 + 10 * MINUTE, { maxAgeMs: 60 * MINUTE, maxRecords: 3 });
    assert.equal(mice(1), 2, 'records pruned');
    assert.equal(mice(10), 2, 'a page that holds every match');
  });

  it('finds no record by its id once pruned, even one read just before', () => {
    const index = filled();
    assert.equal(index.get(0, 0)?.offset, 0, 'read, so kept deserialized');
    index.prune(T0 + 10 * MINUTE, { maxAgeMs: 60 * MINUTE, maxRecords: 5 }); // drops 0-0, the oldest
    assert.equal(index.get(0, 0), undefined);
    assert.equal(index.get(0, 1)?.offset, 1);
  });

  it('combines conditions, and sorts a record older than the rest into place', () => {
    const index = filled();
    const page = (filter: DlqFilter) => index.page(filter, 10);
    assert.deepEqual(ids(page({ failureClass: 'invalid', product: 'mouse' }).items), ['1-1', '0-0']);
    assert.deepEqual(ids(page({ failureClass: 'retries-exhausted', product: 'mouse', reason: 'timed out' }).items), [
      '1-0',
    ]);
    assert.equal(page({ product: 'sofa' }).total, 0, 'a value no record carries');
    assert.equal(page({ failureClass: 'undecodable', product: 'mouse' }).total, 0);
    index.add(entry(2, 2, -10, { product: 'sofa', failureClass: 'retries-exhausted' }));
    assert.deepEqual(ids(page({ product: 'sofa' }).items), ['2-2']);
    assert.deepEqual(ids(page({ failureClass: 'retries-exhausted' }).items), ['1-0', '2-2']);
    assert.deepEqual(ids(page({ product: 'mouse' }).items), ['1-1', '1-0', '0-0']);
    assert.deepEqual(ids(index.select({ failureClass: 'retries-exhausted' }, 10).items), ['2-2', '1-0']);
  });

  it('finds a record by partition and offset, whole, and ignores records already archived', () => {
    const index = filled();
    assert.equal(index.get(1, 1)?.offset, 1);
    assert.deepEqual(index.get(2, 1), entry(2, 1, 5, { product: 'chair', orderId: 'special-order' }));
    const odd = { ...entry(3, 0, 0), order: { orderId: 'x', product: 'mouse', price: Number.NaN } };
    index.add({ ...odd, otherHeaders: { trace: Buffer.from([0, 255]) } });
    const back = index.get(3, 0)!;
    assert.ok(Number.isNaN(back.order!.price), 'NaN stays NaN');
    assert.ok(Buffer.isBuffer(back.key) && Buffer.isBuffer(back.otherHeaders!.trace), 'bytes stay Buffers');
    assert.deepEqual(back.otherHeaders!.trace, Buffer.from([0, 255]));
    assert.equal(index.get(1, 7), undefined);
    assert.equal(index.get(9, 0), undefined);
    assert.equal(index.add(entry(1, 1, 4)), false);
    assert.equal(index.add(entry(1, 0, 1)), false);
    assert.equal(index.size, 7);
  });

  it('selects oldest first for a bulk replay', () => {
    const { items, total } = filled().select({ product: 'mouse' }, 2);
    assert.deepEqual(ids(items), ['0-0', '1-0']);
    assert.equal(total, 3);
  });

  it('resumes where it stopped, and keeps everything across a reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-archive-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'archive.sqlite');
    const first = new DlqArchive(path);
    assert.equal(first.adopt({ clusterId: 'c1', topic: 'orders-dlq' }), 'no archive yet');
    assert.equal(first.addBatch(0, [entry(0, 0, 0), entry(0, 1, 1)], 3n), 2);
    assert.equal(first.addBatch(0, [entry(0, 1, 1)], 2n), 0, 'read again: skipped, and the position never goes back');
    first.addBatch(2, [entry(2, 5, 2, { product: 'chair' })], 6n);
    assert.equal(first.finishRebuild(), true);
    first.close();
    const again = new DlqArchive(path);
    assert.equal(again.adopt({ clusterId: 'c1', topic: 'orders-dlq' }), null);
    assert.equal(again.size, 3);
    assert.deepEqual(
      again.positions(),
      new Map([
        [0, 3n],
        [2, 6n],
      ]),
    );
    assert.deepEqual(ids(again.page({ q: 'chair' }, 10).items), ['2-5']);
    assert.match(again.adopt({ clusterId: 'c2', topic: 'orders-dlq' })!, /cluster c1, the broker is cluster c2/);
    assert.equal(again.size, 0);
    assert.deepEqual(again.positions(), new Map());
    assert.deepEqual(again.page({ q: 'chair' }, 10).items, [], 'the text index is emptied too');
    again.close();
  });

  it('rebuilds without its text index, indexes in chunks at the end, and starts over after a rebuild cut short', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-archive-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'archive.sqlite');
    const identity = { clusterId: 'c1', topic: 'orders-dlq' };
    const cut = new DlqArchive(path);
    assert.equal(cut.adopt(identity), 'no archive yet');
    assert.equal(cut.rebuilding, true);
    cut.addBatch(0, [entry(0, 0, 0, { product: 'chair' })], 1n);
    cut.close(); // stopped before the rebuild read to the end
    const again = new DlqArchive(path);
    assert.equal(again.rebuilding, true);
    assert.equal(again.adopt(identity), 'its last rebuild did not finish');
    assert.equal(again.size, 0);
    again.addBatch(0, [entry(0, 0, 0, { product: 'chair' }), entry(0, 1, 1, { product: 'chair' })], 2n);
    again.addBatch(1, [entry(1, 0, 2, { product: 'chair' }), entry(1, 1, 3, { product: 'desk' })], 2n);
    assert.equal(again.page({ q: 'chair' }, 10).total, 0, 'not in the text index yet');
    assert.deepEqual(ids(again.page({ product: 'chair' }, 10).items), ['1-0', '0-1', '0-0'], 'filters still answer');
    again.prune(T0 + 11 * MINUTE, { maxAgeMs: 10 * MINUTE, maxRecords: 100 }); // drops 0-0, its staged text too
    assert.equal(again.finishRebuild(2), false, 'two of three rows indexed');
    assert.equal(again.rebuilding, true);
    assert.equal(again.finishRebuild(2), true, 'the last one: the indexes are built and the rebuild is over');
    assert.equal(again.rebuilding, false);
    assert.deepEqual(ids(again.page({ q: 'CHAIR' }, 10).items), ['1-0', '0-1']);
    again.addBatch(1, [entry(1, 2, 4, { product: 'chair' })], 3n);
    assert.deepEqual(ids(again.page({ q: 'chair' }, 10).items), ['1-2', '1-0', '0-1'], 'indexed as it comes now');
    again.close();
    const reopened = new DlqArchive(path);
    assert.equal(reopened.rebuilding, false);
    assert.equal(reopened.adopt(identity), null);
    assert.equal(reopened.page({ q: 'desk' }, 10).total, 1);
    reopened.close();
  });

  it('shows what a record id holds now: after a reset, the same id is another record', () => {
    const archive = new DlqArchive(':memory:');
    archive.add(entry(0, 3, 0, { product: 'chair' }));
    assert.equal(archive.page({}, 10).items[0]?.order?.product, 'chair');
    assert.equal(archive.get(0, 3)?.order?.product, 'chair');
    archive.reset(); // a new incarnation of the topic: offsets start over
    archive.add(entry(0, 3, 0, { product: 'desk' }));
    assert.equal(archive.get(0, 3)?.order?.product, 'desk');
    assert.equal(archive.page({}, 10).items[0]?.order?.product, 'desk');
    archive.close();
  });

  it('rebuilds an archive written in another format, whose tables lack what this one writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dlq-archive-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'archive.sqlite');
    const old = new DatabaseSync(path);
    old.exec(
      'CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID; ' +
        "INSERT INTO meta VALUES ('schema', '1'); " +
        'CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, partition INTEGER, offset INTEGER, entry BLOB);',
    );
    old.close();
    const archive = new DlqArchive(path);
    assert.match(archive.adopt({ clusterId: 'c1', topic: 'orders-dlq' })!, /^it was written in format 1, this service/);
    assert.equal(archive.addBatch(0, [entry(0, 0, 0, { product: 'chair' })], 1n), 1);
    assert.equal(archive.finishRebuild(), true);
    assert.deepEqual(ids(archive.page({ q: 'chair' }, 10).items), ['0-0']);
    archive.close();
  });

  it('counts only what a batch that fails part-way left behind: nothing', () => {
    const index = filled();
    const broken = { ...entry(0, 7, 8), order: { orderId: 'x', product: 'mouse', price: 1, render: () => 'no' } };
    assert.throws(() => index.addBatch(0, [entry(0, 6, 7), broken as unknown as DlqEntry], 8n));
    assert.equal(index.size, 6);
    assert.equal(index.get(0, 6), undefined, 'the good record of the batch was rolled back too');
    assert.equal(index.positions().get(0), undefined);
  });

  it('matches text whatever its case, short terms too', () => {
    const index = filled();
    index.add(entry(3, 0, 9, { message: 'prix ÉTÉ invalide' }));
    for (const q of ['é', 'É', 'été', 'ÉTÉ']) assert.deepEqual(ids(index.page({ q }, 10).items), ['3-0'], q);
  });

  it('keeps within its bounds, oldest first', () => {
    const index = filled();
    const now = T0 + 10 * MINUTE;
    assert.equal(index.prune(now, { maxAgeMs: 8 * MINUTE, maxRecords: 100 }), 2, 'older than 8 minutes');
    assert.deepEqual(ids(index.page(all, 10).items), ['2-1', '1-1', '0-1', '2-0']);
    assert.equal(index.prune(now, { maxAgeMs: 60 * MINUTE, maxRecords: 2 }), 2);
    assert.deepEqual(ids(index.page(all, 10).items), ['2-1', '1-1']);
    assert.equal(index.size, 2);
    assert.deepEqual(ids(index.page({ q: 'o-0-1' }, 10).items), [], 'pruned from the text index too');
  });

  it('answers a filtered page and the stats from its indexes at 100k records', () => {
    const index = new DlqArchive(':memory:');
    const entries = Array.from({ length: 100_000 }, (_, i) =>
      entry(i % 3, Math.floor(i / 3), (i % 3) * 1000 + i / 100, { product: i % 7 === 0 ? 'mouse' : 'keyboard' }),
    );
    for (let partition = 0; partition < 3; partition += 1) {
      const batch = entries.filter((e) => e.partition === partition);
      index.addBatch(partition, batch, BigInt(batch.length));
    }
    const started = performance.now();
    const page = index.page({ product: 'mouse' }, 50);
    assert.equal(page.total, Math.ceil(100_000 / 7));
    assert.equal(page.items.length, 50);
    const next = index.page({ product: 'mouse' }, 50, page.next!);
    assert.equal(next.items.length, 50);
    assert.equal(index.summary({ q: 'mouse' }, T0).total, Math.ceil(100_000 / 7));
    assert.ok(
      performance.now() - started < 2000,
      'a generous bound: this checks for a scan per row or worse, not speed',
    );
  });
});

describe('cursors', () => {
  it('round-trip and refuse anything else', () => {
    const position = { time: T0, partition: 2, offset: 99 };
    assert.deepEqual(decodeCursor(encodeCursor(position)), position);
    assert.match(encodeCursor(position), /^[A-Za-z0-9_-]+$/);
    for (const bad of ['', 'abc', Buffer.from('1.2').toString('base64url'), Buffer.from('x.1.2').toString('base64url')])
      assert.equal(decodeCursor(bad), undefined, bad);
  });
});

describe('DLQ summary', () => {
  it('counts by class, product and reason, per minute over the last hour', () => {
    const now = T0 + 30 * MINUTE + 10_000;
    const index = filled();
    index.add(entry(0, 9, -120, { product: 'mouse' }));
    index.setReplays(2, 0, 1);
    index.setReplays(2, 1, 3);
    const result = index.summary(all, now);
    assert.equal(result.total, 7);
    assert.equal(result.replayed, 2);
    assert.deepEqual(result.byFailureClass, { invalid: 5, 'retries-exhausted': 1, undecodable: 1 });
    assert.deepEqual(result.byProduct, { mouse: 4, keyboard: 1, chair: 1, [NONE]: 1 });
    assert.deepEqual(result.byReason[0], { reason: 'price <n> is not positive', count: 5 });
    assert.equal(result.perMinute.length, 60);
    assert.equal(result.perMinute.at(-1)!.minute, new Date(T0 + 30 * MINUTE).toISOString());
    assert.equal(
      result.perMinute.reduce((sum, bucket) => sum + bucket.count, 0),
      6,
      'the record two hours old is not in the last hour',
    );
    assert.equal(
      result.perMinute.find((bucket) => bucket.minute === new Date(T0 + 5 * MINUTE).toISOString())!.count,
      1,
    );
    assert.equal(result.oldest, new Date(T0 - 120 * MINUTE).toISOString());
    assert.equal(result.newest, new Date(T0 + 5 * MINUTE).toISOString());
    assert.deepEqual(reasonsOf([entry(0, 1, 0), entry(0, 2, 0), entry(0, 3, 0, { message: 'x' })]), [
      { reason: 'price <n> is not positive', count: 2 },
      { reason: 'x', count: 1 },
    ]);
  });

  it('keeps the tallies of the unfiltered counts equal to counting the rows, through replays and bounds', () => {
    const now = T0 + 30 * MINUTE;
    const index = filled();
    // A filter every row passes takes the counting path; no filter takes the tallies.
    const everything: DlqFilter = { from: new Date(0).toISOString() };
    const same = (when: string) => assert.deepEqual(index.summary(all, now), index.summary(everything, now), when);
    same('after the first batch');
    index.setReplays(1, 0, 1);
    index.setReplays(1, 0, 2);
    index.setReplays(2, 1, 1);
    index.setReplays(2, 1, 0);
    same('after replays, counted once per record, and a reset to 0');
    index.prune(now, { maxAgeMs: 28 * MINUTE, maxRecords: 4 });
    same('after the bounds dropped the oldest');
    index.clearReplays();
    same('after the replay counts were cleared');
    assert.equal(index.summary(all, now).replayed, 0);
    index.reset();
    same('after a reset');
    assert.equal(index.summary(all, now).total, 0);
  });

  it('counts dead letters per minute of the last hour by failure class, as rows come and go', () => {
    const now = T0 + 30 * MINUTE + 10_000;
    const index = filled();
    index.add(entry(0, 9, -120, { failureClass: 'undecodable' }));
    index.add(entry(3, 0, 5, { failureClass: 'undecodable' }));
    index.add(entry(3, 1, 5, { failureClass: 'a class of another tool' }));
    const at = (minute: number) => 29 + minute; // the last hour ends with minute 30
    const expected = (counts: Record<string, [number, number][]>) =>
      Object.fromEntries(
        Object.entries(counts).map(([name, points]) => {
          const minutes = new Array<number>(60).fill(0);
          for (const [minute, n] of points) minutes[at(minute)] = n;
          return [name, minutes];
        }),
      );
    const history = index.perMinuteByClass(now);
    assert.equal(history.minutes.length, 60);
    assert.equal(history.minutes[0], new Date(T0 - 29 * MINUTE).toISOString());
    assert.equal(history.minutes.at(-1), new Date(T0 + 30 * MINUTE).toISOString());
    assert.deepEqual(
      history.byFailureClass,
      expected({
        invalid: [
          [0, 1],
          [3, 1],
          [4, 1],
          [5, 1],
        ],
        'retries-exhausted': [[1, 1]],
        undecodable: [
          [2, 1],
          [5, 1],
        ],
        'a class of another tool': [[5, 1]],
      }),
      'the record two hours old is not in the last hour; every class is there, with zeros',
    );
    const summed = history.minutes.map((_, m) =>
      Object.values(history.byFailureClass).reduce((sum, counts) => sum + counts[m]!, 0),
    );
    assert.deepEqual(
      summed,
      index.summary(all, now).perMinute.map(({ count }) => count),
    );
    index.prune(now, { maxAgeMs: 27 * MINUTE + 10_000, maxRecords: 100 }); // before minute 3
    assert.deepEqual(
      index.perMinuteByClass(now).byFailureClass,
      expected({
        invalid: [
          [3, 1],
          [4, 1],
          [5, 1],
        ],
        'retries-exhausted': [],
        undecodable: [[5, 1]],
        'a class of another tool': [[5, 1]],
      }),
      'what the bounds dropped is no longer counted',
    );
    assert.deepEqual(
      index.perMinuteByClass(T0 + 200 * MINUTE).byFailureClass,
      expected({ invalid: [], 'retries-exhausted': [], undecodable: [] }),
      'an hour with none',
    );
  });

  it('says null for oldest and newest when nothing matches', () => {
    const result = filled().summary({ product: 'sofa' }, T0);
    assert.equal(result.total, 0);
    assert.equal(result.oldest, null);
    assert.equal(
      result.perMinute.every((bucket) => bucket.count === 0),
      true,
    );
  });
});
