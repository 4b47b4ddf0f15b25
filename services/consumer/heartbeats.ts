// Keeps the group member alive while a batch is being worked on. kafkajs
// heartbeats only between batches, so anything slow inside one (a slow
// downstream, a lane being restored, a commit retrying, a backoff wait) would
// let the session time out, and the group would take the partitions away in
// the middle of the work. While a batch runs, this heartbeats on a timer
// (kafkajs itself sends at most one per heartbeatInterval) and remembers a
// failed heartbeat, which means the group is rebalancing: the batch must stop
// and kafkajs must see the error to rejoin.
import type { EachBatchPayload } from 'kafkajs';

/** The group is rebalancing (a heartbeat failed); kafkajs must see its error. */
export class GroupChanged extends Error {
  constructor(readonly kafkaError: unknown) {
    super('consumer group is rebalancing');
  }
}

const TICK_MS = 500;

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
      .catch((error: unknown) => (this.failure ??= { error }))
      .finally(() => (this.inFlight = false));
  }

  /** Throws GroupChanged once a heartbeat has failed. */
  check(): void {
    if (this.failure !== undefined) throw new GroupChanged(this.failure.error);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
