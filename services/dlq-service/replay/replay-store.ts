// Which dead letters were replayed, when and where to: the latest state per
// record id, read from the compacted replay topic at start and followed
// afterwards. The service writes a state in the same transaction as the
// replayed record, so the two are durable together or not at all.
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import { parseDeadLetterId } from '../../lib/dlq.ts';
import type { Logger } from '../../lib/logger.ts';
import { TopicFollower } from '../../lib/topic-follower.ts';

export interface ReplayEvent {
  at: string;
  /** x-replay-count the replayed record carried. */
  replayCount: number;
  topic: string;
  partition: number;
  offset: string;
}

export interface ReplayState {
  /** Times this dead letter was replayed. */
  count: number;
  /** The latest replays, oldest first (at most HISTORY_LIMIT; `count` keeps the total). */
  history: ReplayEvent[];
}

export const HISTORY_LIMIT = 20;

export function nextState(previous: ReplayState | undefined, event: ReplayEvent): ReplayState {
  return { count: (previous?.count ?? 0) + 1, history: [...(previous?.history ?? []), event].slice(-HISTORY_LIMIT) };
}

function isReplayState(value: unknown): value is ReplayState {
  const state = value as ReplayState;
  return (
    typeof state === 'object' && state !== null && Number.isSafeInteger(state.count) && Array.isArray(state.history)
  );
}

export class ReplayStore {
  /** partition -> offset -> state; numeric keys, so scans by the `replayed` filter allocate nothing. */
  private readonly states = new Map<number, Map<number, ReplayState>>();
  readonly follower: TopicFollower;

  /** `onChange`: told each record's replay count as it changes (the archive mirrors it). */
  constructor(
    kafka: Kafka,
    admin: Admin,
    readonly topic: string,
    private readonly logger: Logger,
    private readonly onChange: (partition: number, offset: number, count: number) => void = () => {},
  ) {
    this.follower = new TopicFollower(kafka, admin, topic, 'dlq-service', (payload) => this.read(payload), logger);
  }

  start(): Promise<void> {
    return this.follower.start();
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }

  get(partition: number, offset: number): ReplayState | undefined {
    return this.states.get(partition)?.get(offset);
  }

  /**
   * Records a state. Counts only grow: the follower reads back states this
   * service has already applied, and an older one must not undo a newer one.
   */
  apply(partition: number, offset: number, state: ReplayState): void {
    let partitionStates = this.states.get(partition);
    if (partitionStates === undefined) {
      partitionStates = new Map();
      this.states.set(partition, partitionStates);
    }
    if (state.count < (partitionStates.get(offset)?.count ?? 0)) return;
    partitionStates.set(offset, state);
    this.onChange(partition, offset, state.count);
  }

  private async read({ batch }: EachBatchPayload): Promise<void> {
    for (const message of batch.messages) {
      const id = message.key?.toString() ?? '';
      const position = parseDeadLetterId(id);
      if (position !== undefined && message.value === null) {
        // A tombstone: an operator reset the record's replay state.
        this.states.get(position.partition)?.delete(position.offset);
        this.onChange(position.partition, position.offset, 0);
        continue;
      }
      let state: unknown;
      try {
        state = JSON.parse(message.value?.toString() ?? '');
      } catch {
        state = undefined;
      }
      if (position === undefined || !isReplayState(state)) {
        this.logger.warn(
          { topic: batch.topic, offset: message.offset, key: id },
          'replay state record is malformed; ignored',
        );
        continue;
      }
      this.apply(position.partition, position.offset, state);
    }
  }
}
