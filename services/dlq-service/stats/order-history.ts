// The last hour of the running aggregate, for the dashboard's charts (GET
// /stats/history): orders processed per second and the running average
// price, in buckets of BUCKET_MS by the Kafka timestamp of the order-stats
// totals records that carry them. Built from what the stats reader reads,
// from the topic's beginning at start, then as the consumer commits; kept in
// memory, at most an hour of buckets per consumer group.
//
// Orders processed in a bucket are the increase of each partition's count
// over its previous totals record (all of it when the partition's epoch
// changed: its aggregate started again from zero). A partition's first
// record has no previous one: written after this service started, it is the
// partition's first commit and counts whole; read from before, it may just
// as well be what compaction left of a long history (order-stats is
// compacted), so the history of that partition starts there instead of
// showing its whole count as one spike.
import { average, statsKey, type PartitionTotals, type Tally } from '../../lib/order-stats.ts';

const BUCKET_MS = 10_000;
const WINDOW_MS = 3_600_000;
const BUCKETS = WINDOW_MS / BUCKET_MS;

interface Bucket {
  /** Orders processed in the bucket. */
  processed: number;
  /** The group's aggregate after the last record of the bucket. */
  totals: Tally;
}

/** The last hour in buckets, oldest first; the last bucket holds now and is still filling. */
export interface OrderHistorySeries {
  bucketSeconds: number;
  /** Each bucket's start. */
  times: string[];
  /** Orders processed in the bucket ÷ its seconds; null before anything is known of the group. */
  perSecond: (number | null)[];
  /** The running average price at the bucket's end; null before any order. */
  average: (number | null)[];
}

const averageOf = (totals: Tally | undefined) => (totals === undefined ? null : average(totals));

class GroupHistory {
  /** Each partition's last totals record. */
  private readonly partitions = new Map<string, PartitionTotals>();
  private readonly totals: Tally = { count: 0, sumCents: 0 };
  /** By bucket number (timestamp ÷ BUCKET_MS). */
  private readonly buckets = new Map<number, Bucket>();
  /** The aggregate as of the newest bucket older than the window: what the window starts from. */
  private before: { bucket: number; totals: Tally } | undefined;

  add(record: PartitionTotals, timestamp: number, wholeIfFirst: boolean, firstBucket: number): void {
    const key = statsKey(record.group, record.topic, record.partition);
    const previous = this.partitions.get(key);
    this.partitions.set(key, record);
    const processed =
      previous === undefined
        ? wholeIfFirst
          ? record.count
          : 0
        : previous.epoch === record.epoch
          ? record.count - previous.count
          : record.count;
    this.totals.count += record.count - (previous?.count ?? 0);
    this.totals.sumCents += record.sumCents - (previous?.sumCents ?? 0);
    const number = Math.floor(timestamp / BUCKET_MS);
    if (number < firstBucket) {
      this.keepAsBefore(number, { ...this.totals });
      return;
    }
    const earlier = this.buckets.get(number)?.processed ?? 0;
    this.buckets.set(number, { processed: earlier + processed, totals: { ...this.totals } });
  }

  private keepAsBefore(bucket: number, totals: Tally): void {
    if (this.before === undefined || bucket >= this.before.bucket) this.before = { bucket, totals };
  }

  series(firstBucket: number): OrderHistorySeries {
    for (const [number, bucket] of this.buckets) {
      if (number >= firstBucket) continue;
      this.keepAsBefore(number, bucket.totals);
      this.buckets.delete(number);
    }
    const seconds = BUCKET_MS / 1000;
    let known = this.before?.totals;
    const series: OrderHistorySeries = { bucketSeconds: seconds, times: [], perSecond: [], average: [] };
    for (let number = firstBucket; number < firstBucket + BUCKETS; number += 1) {
      const bucket = this.buckets.get(number);
      if (bucket !== undefined) known = bucket.totals;
      series.times.push(new Date(number * BUCKET_MS).toISOString());
      series.perSecond.push(bucket !== undefined ? bucket.processed / seconds : known === undefined ? null : 0);
      series.average.push(averageOf(known));
    }
    return series;
  }
}

export class OrderHistory {
  private readonly groups = new Map<string, GroupHistory>();
  private readonly startedAt: number;
  private readonly now: () => number;

  /** `startedAt`: when the reader started (records written since count from their first); `now`: the clock. */
  constructor({ startedAt, now = Date.now }: { startedAt?: number; now?: () => number } = {}) {
    this.now = now;
    this.startedAt = startedAt ?? now();
  }

  /** Takes a totals record as read (StatsReader.onTotals), with its Kafka timestamp. */
  add(record: PartitionTotals, timestamp: number): void {
    const group = this.groups.get(record.group) ?? new GroupHistory();
    this.groups.set(record.group, group);
    group.add(record, timestamp, timestamp >= this.startedAt, this.firstBucket());
  }

  /** The last hour of `group`, in BUCKET_MS buckets; the last one holds now. */
  series(group: string): OrderHistorySeries {
    return (this.groups.get(group) ?? new GroupHistory()).series(this.firstBucket());
  }

  private firstBucket(): number {
    return Math.floor(this.now() / BUCKET_MS) - (BUCKETS - 1);
  }
}
