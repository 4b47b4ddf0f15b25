// The DLQ as the service holds it: the index of dead letters, their replay
// state and the replayer, fed by two topic followers. Routes query it; a
// script (a benchmark) can drive it through buildApp and waitUntilCaughtUp.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { parseDeadLetterId } from '../lib/dlq.ts';
import type { Logger } from '../lib/logger.ts';
import { wait } from '../lib/retry.ts';
import type { Serde } from '../lib/serde.ts';
import { DlqFollower } from './index/dlq-follower.ts';
import { DlqIndex } from './index/dlq-index.ts';
import type { DlqEntry } from './index/entry.ts';
import type { DlqFilter } from '../lib/dlq.ts';
import { compileFilter, type CompiledFilter } from './index/filter.ts';
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

export class DeadLetters {
  readonly index = new DlqIndex();
  readonly replays: ReplayStore;
  readonly replayer: Replayer;
  private readonly dlq: DlqFollower;
  private indexLoaded = false;
  private replaysLoaded = false;
  private readonly stopping = new AbortController();

  constructor(private readonly options: DeadLettersOptions) {
    const { kafka, admin, logger } = options;
    this.dlq = new DlqFollower(kafka, admin, options.dlqTopic, this.index, new ValueDecoder(options.serde), logger);
    this.replays = new ReplayStore(kafka, admin, options.replaysTopic, logger);
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

  /** Starts following both topics; the loaded flags turn true once each was read to the end it had at start. */
  async start(): Promise<void> {
    const started = Date.now();
    await this.replays.start();
    await this.dlq.start();
    void this.load(this.replays.follower).then((loaded) => (this.replaysLoaded = loaded));
    void this.load(this.dlq.follower).then((loaded) => {
      this.indexLoaded = loaded;
      if (loaded) this.options.logger.info({ records: this.index.size, ms: Date.now() - started }, 'DLQ index built');
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.replayer.close();
    await Promise.all([this.dlq.stop(), this.replays.stop()]);
  }

  /** Replays may be checked against the replay state only once it is loaded. */
  get replayStateLoaded(): boolean {
    return this.replaysLoaded;
  }

  /** Resolves once both topics have been read to their end as of now (for tests and benchmarks). */
  async waitUntilCaughtUp(timeoutMs: number): Promise<void> {
    await Promise.all([
      this.dlq.follower.waitUntilCaughtUp(timeoutMs, this.stopping.signal),
      this.replays.follower.waitUntilCaughtUp(timeoutMs, this.stopping.signal),
    ]);
  }

  get(id: string): DlqEntry | undefined {
    const position = parseDeadLetterId(id);
    return position === undefined ? undefined : this.index.get(position.partition, position.offset);
  }

  stateOf(entry: DlqEntry): ReplayState | undefined {
    return this.replays.get(entry.partition, entry.offset);
  }

  compile(filter: DlqFilter): CompiledFilter {
    return compileFilter(filter, (entry) => this.stateOf(entry)?.count ?? 0);
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
      index: { loaded: this.indexLoaded, records: this.index.size, lag: lags?.[0] ?? null },
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
