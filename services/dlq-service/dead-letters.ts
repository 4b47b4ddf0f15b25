// The DLQ as the service holds it: the archive of dead letters (SQLite, which
// outlives restarts and Kafka's retention), their replay state and the
// replayer, fed by two topic followers. Routes query it; a script (a
// benchmark) can drive it through buildApp and waitUntilCaughtUp.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { parseDeadLetterId } from '../lib/dlq.ts';
import type { Logger } from '../lib/logger.ts';
import { wait } from '../lib/retry.ts';
import type { Serde } from '../lib/serde.ts';
import { DlqArchive } from './index/dlq-archive.ts';
import { DlqFollower } from './index/dlq-follower.ts';
import type { DlqEntry } from './index/entry.ts';
import type { TopicFollower } from '../lib/topic-follower.ts';
import { ValueDecoder } from './index/value-decoder.ts';
import { ReplayStore, type ReplayState } from './replay/replay-store.ts';
import { Replayer, type ReplayerOptions } from './replay/replayer.ts';

export interface DeadLettersOptions {
  kafka: Kafka;
  admin: Admin;
  serde: Serde;
  dlqTopic: string;
  replaysTopic: string;
  maxReplays: number;
  /** The archive's SQLite file. */
  dbPath: string;
  /** The archive's bounds: older records, then the oldest beyond the count, are dropped. */
  archiveMaxAgeMs: number;
  archiveMaxRecords: number;
  logger: Logger;
  onReplayOutcome?: ReplayerOptions['onOutcome'];
}

export interface Readiness {
  ready: boolean;
  broker: boolean;
  index: { loaded: boolean; records: number; lag: number | null };
  replays: { loaded: boolean; lag: number | null };
}

const BROKER_CHECK_MS = 3000;
const LOAD_RETRY_MS = 1000;
/** How often the archive learns where each DLQ partition now begins, and drops what is beyond its bounds. */
const UPKEEP_MS = 30_000;
/** Records dropped per transaction when the archive is past its bounds. */
const PRUNE_CHUNK = 5000;
/** Rows a finishing rebuild puts into the text index per transaction. */
const INDEX_CHUNK = 20_000;

/**
 * Runs `step` (synchronous work on the archive) until it says it is done,
 * yielding in between so that requests and the followers run: one long
 * transaction would hold them up. False when `signal` stopped it first.
 */
async function inSteps(step: () => boolean, signal: AbortSignal): Promise<boolean> {
  for (;;) {
    if (signal.aborted) return false;
    if (step()) return true;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export class DeadLetters {
  readonly archive: DlqArchive;
  readonly replays: ReplayStore;
  readonly replayer: Replayer;
  private readonly dlq: DlqFollower;
  private indexLoaded = false;
  private replaysLoaded = false;
  /** Settles once the DLQ was read to the end it had at start and a rebuild has built its indexes (false: stopped). */
  private archiveLoaded: Promise<boolean> = Promise.resolve(false);
  /** Per DLQ partition, the first offset Kafka still holds: older records live only in the archive. */
  private firstOffsets = new Map<number, number>();
  private upkeep: NodeJS.Timeout | undefined;
  /** The upkeep under way, which stop() waits for before it closes the archive. */
  private upkeepRun: Promise<void> = Promise.resolve();
  private readonly stopping = new AbortController();

  constructor(private readonly options: DeadLettersOptions) {
    const { kafka, admin, logger } = options;
    this.archive = new DlqArchive(options.dbPath);
    this.replays = new ReplayStore(kafka, admin, options.replaysTopic, logger, (partition, offset, count) =>
      this.archive.setReplays(partition, offset, count),
    );
    this.dlq = new DlqFollower(
      kafka,
      admin,
      options.dlqTopic,
      this.archive,
      new ValueDecoder(options.serde),
      logger,
      (partition, offset) => this.replays.get(partition, offset)?.count ?? 0,
    );
    this.replayer = new Replayer({
      kafka,
      admin,
      store: this.replays,
      // One replayer per DLQ: a second instance fences the first, so two can
      // never interleave replays of the same record.
      transactionalId: `dlq-service.${options.dlqTopic}`,
      maxReplays: options.maxReplays,
      logger,
      onOutcome: options.onReplayOutcome,
    });
  }

  /**
   * Checks that the archive belongs to this cluster and this incarnation of
   * the topic (else empties it, saying why), then follows both topics, the
   * DLQ from where the archive stopped; the loaded flags turn true once each
   * was read to the end it had at start.
   */
  async start(): Promise<void> {
    const started = Date.now();
    const { logger, dlqTopic } = this.options;
    const resumed = this.archive.size;
    const why = await this.checkArchive();
    if (why === null) logger.info({ records: resumed, path: this.archive.path }, 'DLQ archive: resuming');
    else logger.info({ path: this.archive.path, why }, `DLQ archive: rebuilding from ${dlqTopic}`);
    // The replay state is read again from its topic, the source of truth, and sets the counts anew.
    this.archive.clearReplays();
    await this.replays.start();
    await this.dlq.start();
    // checkArchive learnt where the partitions begin; the bounds are kept once the DLQ is read (below).
    this.upkeep = setInterval(() => void this.keepUp(), UPKEEP_MS);
    void this.load(this.replays.follower).then((loaded) => (this.replaysLoaded = loaded));
    this.archiveLoaded = this.load(this.dlq.follower).then(async (loaded) => loaded && (await this.finishRebuild()));
    void this.archiveLoaded.then((loaded) => {
      if (!loaded) return;
      this.indexLoaded = true;
      logger.info({ records: this.archive.size, ms: Date.now() - started }, 'DLQ archive up to date');
      void this.keepUp(); // a rebuild may have read past the bounds
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.upkeep);
    await this.upkeepRun;
    await this.replayer.close();
    await Promise.all([this.dlq.stop(), this.replays.stop()]);
    this.archive.close();
  }

  /** A rebuild that has read to the end builds the indexes it left out; false when the service stopped first. */
  private async finishRebuild(): Promise<boolean> {
    if (!this.archive.rebuilding) return true;
    const started = Date.now();
    const done = await inSteps(() => this.archive.finishRebuild(INDEX_CHUNK), this.stopping.signal);
    if (done) this.options.logger.info({ ms: Date.now() - started }, 'DLQ archive: indexed what the rebuild read');
    return done;
  }

  /** Why the archive had to be emptied, or null when it is this topic's and is kept. */
  private async checkArchive(): Promise<string | null> {
    const { admin, dlqTopic } = this.options;
    const { clusterId } = await admin.describeCluster();
    const offsets = await admin.fetchTopicOffsets(dlqTopic);
    this.learnFirstOffsets(offsets);
    const why = this.archive.adopt({ clusterId, topic: dlqTopic });
    if (why !== null) return why;
    // A topic deleted and created again starts over at offset 0: an archive
    // that has read further than a partition now goes was written from the
    // topic's previous incarnation.
    const ends = new Map(offsets.map(({ partition, high }) => [partition, BigInt(high)]));
    for (const [partition, next] of this.archive.positions()) {
      const end = ends.get(partition);
      if (end === undefined || next > end) {
        const now = end === undefined ? 'no longer exists' : `now ends at offset ${end}`;
        const reason = `it read partition ${partition} to offset ${next}, which ${now}: the topic was created again`;
        this.archive.reset();
        return reason;
      }
    }
    return null;
  }

  /**
   * Learns where each DLQ partition begins now, and keeps the archive within
   * its bounds. One upkeep at a time; never throws (it runs from a timer),
   * and none starts once the service stops.
   */
  private keepUp(): Promise<void> {
    this.upkeepRun = this.upkeepRun.then(async () => {
      if (this.stopping.signal.aborted) return;
      try {
        await this.keepUpOnce();
      } catch (error) {
        this.options.logger.warn({ err: error }, 'DLQ archive upkeep failed; trying again later');
      }
    });
    return this.upkeepRun;
  }

  private async keepUpOnce(): Promise<void> {
    const { admin, dlqTopic, archiveMaxAgeMs, archiveMaxRecords, logger } = this.options;
    try {
      this.learnFirstOffsets(await admin.fetchTopicOffsets(dlqTopic));
    } catch (error) {
      logger.debug({ err: error }, 'could not read where the DLQ partitions begin; trying again later');
    }
    const bounds = { maxAgeMs: archiveMaxAgeMs, maxRecords: archiveMaxRecords };
    let dropped = 0;
    await inSteps(() => {
      const removed = this.archive.prune(Date.now(), bounds, PRUNE_CHUNK);
      dropped += removed;
      return removed < PRUNE_CHUNK;
    }, this.stopping.signal);
    if (dropped > 0) logger.info({ dropped, records: this.archive.size }, 'DLQ archive: dropped the oldest records');
  }

  private learnFirstOffsets(offsets: { partition: number; low: string }[]): void {
    this.firstOffsets = new Map(offsets.map(({ partition, low }) => [partition, Number(low)]));
  }

  /** The topic still holds the record (else only the archive does: Kafka's retention removed it). */
  inKafka(entry: DlqEntry): boolean {
    return entry.offset >= (this.firstOffsets.get(entry.partition) ?? 0);
  }

  /** Replays may be checked against the replay state only once it is loaded. */
  get replayStateLoaded(): boolean {
    return this.replaysLoaded;
  }

  /**
   * Resolves once both topics have been read to their end as of now, and a
   * rebuild has built its indexes (for tests and benchmarks).
   */
  async waitUntilCaughtUp(timeoutMs: number): Promise<void> {
    await Promise.all([
      this.dlq.follower.waitUntilCaughtUp(timeoutMs, this.stopping.signal),
      this.replays.follower.waitUntilCaughtUp(timeoutMs, this.stopping.signal),
    ]);
    if (this.archive.rebuilding && !(await this.archiveLoaded)) throw new Error('the service stopped');
  }

  get(id: string): DlqEntry | undefined {
    const position = parseDeadLetterId(id);
    return position === undefined ? undefined : this.archive.get(position.partition, position.offset);
  }

  stateOf(entry: DlqEntry): ReplayState | undefined {
    return this.replays.get(entry.partition, entry.offset);
  }

  async readiness(): Promise<Readiness> {
    const lags = await Promise.race([
      Promise.all([this.dlq.follower.lag(), this.replays.follower.lag()]),
      sleep(BROKER_CHECK_MS, undefined, { ref: false }),
    ]).catch(() => undefined);
    const broker = lags !== undefined;
    return {
      ready: broker && this.indexLoaded && this.replaysLoaded,
      broker,
      index: { loaded: this.indexLoaded, records: this.archive.size, lag: lags?.[0] ?? null },
      replays: { loaded: this.replaysLoaded, lag: lags?.[1] ?? null },
    };
  }

  private async load(follower: TopicFollower): Promise<boolean> {
    while (!this.stopping.signal.aborted) {
      try {
        await follower.waitUntilCaughtUp(Number.MAX_SAFE_INTEGER, this.stopping.signal);
        this.options.logger.info({ topic: follower.topic }, 'read to the end; following');
        return true;
      } catch (error) {
        if (this.stopping.signal.aborted) break;
        this.options.logger.warn(
          { err: error, topic: follower.topic },
          'could not tell how far the topic goes; trying again',
        );
        await wait(LOAD_RETRY_MS, this.stopping.signal);
      }
    }
    return false;
  }
}
