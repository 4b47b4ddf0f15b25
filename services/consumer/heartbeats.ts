// Keeps the group member alive while a batch is being worked on. kafkajs
// heartbeats only between batches, so anything slow inside one (a slow
// downstream, a lane being restored, a commit retrying, a backoff wait) would
// let the session time out, and the group would take the partitions away in
// the middle of the work. While a batch runs, this heartbeats on a timer
// (kafkajs itself sends at most one per heartbeatInterval). A heartbeat
// refused because the group is rebalancing (or this member's generation is
// gone) is remembered: the batch must stop and kafkajs must see the error to
// rejoin. Any other failure (a timeout, the broker away) is tried again on
// the next tick, as kafkajs's own loop would.
import type { EachBatchPayload } from 'kafkajs';

/** The group is rebalancing (a heartbeat said so); kafkajs must see its error. */
export class GroupChanged extends Error {
  constructor(readonly kafkaError: unknown) {
    super('consumer group is rebalancing');
  }
}

const TICK_MS = 500;

/** The heartbeat answers that mean this member must rejoin (kafkajs's isRebalancing, plus an expired member). */
const GROUP_CHANGES = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

function isGroupChange(error: unknown): boolean {
  return GROUP_CHANGES.has((error as { type?: string } | null)?.type ?? '');
}

export class Heartbeats {
  private failure: { error: unknown } | undefined;
  private inFlight = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly payload: EachBatchPayload) {
    this.timer = setInterval(() => this.beat(), TICK_MS);
  }

  private beat(): void {
    if (this.inFlight || this.failure !== undefined) return;
    this.inFlight = true;
    this.payload
      .heartbeat()
      .catch((error: unknown) => {
        if (isGroupChange(error)) this.failure ??= { error };
      })
      .finally(() => (this.inFlight = false));
  }

  /** Throws GroupChanged once a heartbeat has said the group changed. */
  check(): void {
    if (this.failure !== undefined) throw new GroupChanged(this.failure.error);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
