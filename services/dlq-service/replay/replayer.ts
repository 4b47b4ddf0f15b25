// Replay: the dead letter's original key, value and headers go back to the
// topic it came from (its original partition when that still exists), marked
// with x-replay-count / x-replay-from / x-replay-at; the record's new replay
// state goes to the replay topic. Both are written in one Kafka transaction,
// so a crash can never leave a replay without its state (which would let the
// same record be replayed, and the order processed, twice) or the reverse.
//
// Rules, checked under a lock so two requests cannot both pass them:
// - a record already replayed is not replayed again unless `force` is set;
// - the order's replay count (x-replay-count on the dead letter, plus this
//   record's own replays) may not pass DLQ_MAX_REPLAYS, with or without
//   `force`: an order that keeps failing must not circle forever;
// - a record the consumer cut to fit the DLQ topic (its headers, value or key)
//   is never replayed: it is no longer the original, and replaying it would
//   feed the consumer a different order (or bytes that do not decode).
import {
  Partitioners,
  type Admin,
  type Kafka,
  type Message,
  type PartitionMetadata,
  type Producer,
  type Transaction,
} from 'kafkajs';
import { LOSSY_CUTS, replayHeaders, type TruncatedPart } from '../../lib/dlq.ts';
import { KEYED_PARTITIONER } from '../../lib/kafka.ts';
import type { Logger } from '../../lib/logger.ts';
import { entryId, type DlqEntry } from '../index/entry.ts';
import { nextState, type ReplayEvent, type ReplayState, type ReplayStore } from './replay-store.ts';

export type Refusal = 'truncated' | 'already-replayed' | 'max-replays' | 'no-origin';

export interface Replayed {
  id: string;
  replayCount: number;
  target: { topic: string; partition: number; offset: string };
  state: ReplayState;
}

export interface Refused {
  id: string;
  refusal: Refusal;
  message: string;
}

export interface ReplayResult {
  replayed: Replayed[];
  refused: Refused[];
  /**
   * Records not replayed because Kafka did not answer or refused their
   * transaction before its commit (aborted: nothing of it was written, safe
   * to retry; the request stopped there).
   */
  failed: string[];
  /**
   * Records whose transaction was being committed when Kafka's answer was
   * lost: replayed or not, nobody knows yet. Their replay state tells, once
   * the service reads it back from the replay-state topic; retry only those
   * it shows as not replayed.
   */
  unknown: string[];
}

/**
 * A broker error that says this producer was fenced (its open transaction is aborted, nothing of it written):
 * INVALID_PRODUCER_EPOCH (47, what the broker answers kafkajs's request versions), or PRODUCER_FENCED (90),
 * which kafkajs 2.2 does not name (it reports "Unknown error code 90").
 */
function isFenced(error: unknown): boolean {
  const { code, message } = error as { code?: number; message?: string };
  return code === 47 || message === 'Unknown error code 90';
}
/** How long a replay may wait for the replay state to be read to its end. */
const CATCH_UP_MS = 10_000;

/** The commit of a replay transaction got no answer: it may have happened. */
class CommitOutcomeUnknown extends Error {
  override name = 'CommitOutcomeUnknown';
}

export interface ReplayerOptions {
  kafka: Kafka;
  admin: Admin;
  store: ReplayStore;
  transactionalId: string;
  maxReplays: number;
  logger: Logger;
  onOutcome?: (outcome: 'replayed' | 'failed' | 'unknown' | Refusal, count: number) => void;
}

interface Planned {
  entry: DlqEntry;
  message: Message & { partition: number };
  replayCount: number;
}

/** Records per transaction in a bulk replay. */
const CHUNK = 500;
const METADATA_TTL_MS = 60_000;
const partitioner = Partitioners.DefaultPartitioner();
const parts = new Intl.ListFormat('en');

/**
 * Why a cut record is not replayed, with what an operator needs to find the
 * original elsewhere (a topic that still retains it, an archive, the producer's
 * logs): its size and SHA-256, and where the consumer read it.
 */
function truncatedMessage(entry: DlqEntry, lossy: readonly TruncatedPart[]): string {
  const originals = (['value', 'key'] as const)
    .filter((part) => lossy.includes(part))
    .map((part) => {
      const digest = part === 'value' ? entry.originalValue : entry.originalKey;
      return digest === null
        ? `the original ${part}'s size and sha256 are not known`
        : `the original ${part} is ${digest.bytes} bytes, sha256 ${digest.sha256}`;
    });
  const where = `partition ${entry.originPartition ?? '?'} offset ${entry.originOffset ?? '?'}`;
  const origin = entry.originTopic === null ? [] : [`it was read from ${entry.originTopic} ${where}`];
  return [
    `record ${entryId(entry)} is not replayed, even with force: the consumer cut its ${parts.format(lossy)} ` +
      'to fit the DLQ topic, so it is no longer the original',
    ...originals,
    ...origin,
  ].join('; ');
}

export class Replayer {
  private producer: Promise<Producer> | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly metadata = new Map<string, { partitions: PartitionMetadata[] | null; until: number }>();

  constructor(private readonly options: ReplayerOptions) {}

  /** Whether the record may be replayed now, and the x-replay-count the replay would carry. */
  check(
    entry: DlqEntry,
    force: boolean,
  ): { ok: true; replayCount: number } | { ok: false; refusal: Refusal; message: string } {
    const id = entryId(entry);
    const state = this.options.store.get(entry.partition, entry.offset);
    const lossy = entry.truncated.filter((part) => LOSSY_CUTS.includes(part));
    if (lossy.length > 0) return { ok: false, refusal: 'truncated', message: truncatedMessage(entry, lossy) };
    if (entry.originTopic === null) {
      return {
        ok: false,
        refusal: 'no-origin',
        message: `record ${id} has no kafka_dlt-original-topic header, so there is nowhere to replay it to`,
      };
    }
    if (state !== undefined && state.count > 0 && !force) {
      const last = state.history.at(-1);
      return {
        ok: false,
        refusal: 'already-replayed',
        message:
          `record ${id} was already replayed ${state.count} time(s)${last ? `, last at ${last.at}` : ''}; ` +
          'nothing was done (send force: true to replay it again)',
      };
    }
    const replayCount = entry.replayCount + (state?.count ?? 0) + 1;
    if (replayCount > this.options.maxReplays) {
      return {
        ok: false,
        refusal: 'max-replays',
        message:
          `record ${id} would be replay number ${replayCount} of its order, ` +
          `past DLQ_MAX_REPLAYS (${this.options.maxReplays}); it is not replayed, even with force`,
      };
    }
    return { ok: true, replayCount };
  }

  /** Replays what passes the checks (in the given order) and says why the rest did not. */
  replay(entries: readonly DlqEntry[], force: boolean): Promise<ReplayResult> {
    const run = this.lock.then(() => this.replayLocked(entries, force));
    this.lock = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.lock;
    const producer = await this.producer?.catch(() => undefined);
    await producer?.disconnect();
  }

  private async replayLocked(entries: readonly DlqEntry[], force: boolean): Promise<ReplayResult> {
    const result: ReplayResult = { replayed: [], refused: [], failed: [], unknown: [] };
    const planned: Planned[] = [];
    const at = new Date();
    const nothingReplayed = (error: unknown, what: string) => {
      result.failed = entries.map(entryId);
      this.options.logger.error({ err: error, failed: result.failed.length }, `${what}; nothing was replayed`);
      return this.counted(result);
    };
    let transaction: Transaction;
    try {
      // The producer's transactional id is this DLQ's, and kafkajs starts it
      // (InitProducerId) at its first transaction: that fences any other
      // replayer of the DLQ (another instance) and completes what that one
      // was committing. The replay state is read to its end only after that,
      // so the checks below see every replay the other committed, and any
      // replay it commits from now on fails as fenced: a dead letter is never
      // replayed twice by two instances.
      transaction = await (await this.connect()).transaction();
    } catch (error) {
      await this.dropProducer();
      return nothingReplayed(error, 'could not start a replay transaction');
    }
    try {
      await this.options.store.follower.waitUntilCaughtUp(CATCH_UP_MS);
      for (const entry of entries) {
        const plan = await this.plan(entry, force, at);
        if ('refusal' in plan) result.refused.push(plan);
        else planned.push(plan);
      }
    } catch (error) {
      // Nothing was written yet.
      await transaction.abort().catch(() => undefined);
      result.refused = [];
      return nothingReplayed(error, 'could not read the replay state or look up the original topics');
    }
    if (planned.length === 0) await transaction.abort().catch(() => undefined);
    for (let start = 0; start < planned.length; start += CHUNK) {
      try {
        if (start > 0) transaction = await (await this.connect()).transaction();
        result.replayed.push(...(await this.commit(transaction, planned.slice(start, start + CHUNK), at)));
      } catch (error) {
        const chunk = planned.slice(start, start + CHUNK).map(({ entry }) => entryId(entry));
        const rest = planned.slice(start + CHUNK).map(({ entry }) => entryId(entry));
        if (error instanceof CommitOutcomeUnknown) {
          result.unknown = chunk;
          result.failed = rest;
          this.options.logger.error(
            { err: error.cause, unknown: chunk.length, failed: rest.length },
            'replay transaction: the commit got no answer; whether it happened shows in the replay state',
          );
        } else {
          result.failed = [...chunk, ...rest];
          this.options.logger.error(
            { err: error, failed: result.failed.length },
            'replay transaction failed; nothing of it was written',
          );
        }
        break;
      }
    }
    return this.counted(result);
  }

  /** The record as it would be replayed, or why it is not. */
  private async plan(entry: DlqEntry, force: boolean, at: Date): Promise<Planned | Refused> {
    const id = entryId(entry);
    const check = this.check(entry, force);
    if (!check.ok) return { id, refusal: check.refusal, message: check.message };
    const topic = entry.originTopic!;
    const partitions = await this.partitionsOf(topic);
    if (partitions === null)
      return { id, refusal: 'no-origin', message: `the original topic ${topic} of record ${id} does not exist` };
    const message = {
      key: entry.key,
      value: entry.value,
      headers: replayHeaders(entry.otherHeaders ?? {}, { count: check.replayCount, from: id, at }),
    };
    // The original partition keeps the order's place among its key's records;
    // if the topic has fewer partitions now, the key decides, as for any record.
    const partition = partitions.some((p) => p.partitionId === entry.originPartition)
      ? entry.originPartition!
      : partitioner({ topic, partitionMetadata: partitions, message });
    return { entry, message: { ...message, partition }, replayCount: check.replayCount };
  }

  private counted(result: ReplayResult): ReplayResult {
    this.options.onOutcome?.('replayed', result.replayed.length);
    this.options.onOutcome?.('failed', result.failed.length);
    this.options.onOutcome?.('unknown', result.unknown.length);
    for (const refused of result.refused) this.options.onOutcome?.(refused.refusal, 1);
    return result;
  }

  private async commit(transaction: Transaction, planned: Planned[], at: Date): Promise<Replayed[]> {
    try {
      const byTopic = new Map<string, Message[]>();
      for (const { entry, message } of planned)
        byTopic.set(entry.originTopic!, [...(byTopic.get(entry.originTopic!) ?? []), message]);
      const metadata = await transaction.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      // Kafka returns the first offset per partition; the records of one
      // partition were appended in the order given.
      const next = new Map(metadata.map((m) => [`${m.topicName}/${m.partition}`, BigInt(m.baseOffset ?? '-1')]));
      const replayed = planned.map(({ entry, message, replayCount }): Replayed => {
        const topic = entry.originTopic!;
        const slot = `${topic}/${message.partition}`;
        const offset = next.get(slot) ?? -1n;
        next.set(slot, offset + 1n);
        const event: ReplayEvent = {
          at: at.toISOString(),
          replayCount,
          topic,
          partition: message.partition,
          offset: offset.toString(),
        };
        return {
          id: entryId(entry),
          replayCount,
          target: { topic, partition: message.partition, offset: offset.toString() },
          state: nextState(this.options.store.get(entry.partition, entry.offset), event),
        };
      });
      await transaction.send({
        topic: this.options.store.topic,
        acks: -1,
        messages: replayed.map(({ id, state }) => ({ key: id, value: JSON.stringify(state), partition: 0 })),
      });
      try {
        await transaction.commit();
      } catch (error) {
        // Fenced: another instance took over the transactional id, and the broker aborted this transaction.
        if (isFenced(error)) throw error;
        throw new CommitOutcomeUnknown('the commit of the replay transaction got no answer', { cause: error });
      }
      for (const [i, { entry }] of planned.entries())
        this.options.store.apply(entry.partition, entry.offset, replayed[i]!.state);
      this.options.logger.info(
        { replayed: replayed.length, ids: replayed.slice(0, 20).map((r) => r.id) },
        'replayed dead letters',
      );
      return replayed;
    } catch (error) {
      // After a commit without answer, an abort is refused or too late; it is tried all the same.
      await transaction.abort().catch(() => undefined);
      await this.dropProducer();
      throw error;
    }
  }

  /** The producer may be fenced or out of step: the next replay starts a fresh one (and fences in turn). */
  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await (await producer?.catch(() => undefined))?.disconnect().catch(() => undefined);
  }

  private connect(): Promise<Producer> {
    this.producer ??= (async () => {
      const producer = this.options.kafka.producer({
        ...KEYED_PARTITIONER,
        transactionalId: this.options.transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        transactionTimeout: 30_000,
      });
      await producer.connect();
      return producer;
    })();
    this.producer.catch(() => (this.producer = undefined));
    return this.producer;
  }

  /**
   * The topic's partitions, or null when it does not exist (never created by asking: the admin client does not
   * auto-create).
   */
  private async partitionsOf(topic: string): Promise<PartitionMetadata[] | null> {
    const cached = this.metadata.get(topic);
    if (cached !== undefined && cached.until > Date.now()) return cached.partitions;
    const exists = (await this.options.admin.listTopics()).includes(topic);
    const partitions = exists
      ? ((await this.options.admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions ?? null)
      : null;
    this.metadata.set(topic, { partitions, until: Date.now() + METADATA_TTL_MS });
    return partitions;
  }
}
