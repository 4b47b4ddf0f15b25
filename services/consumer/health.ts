// What /health says about the consumer. It is healthy while it is a member of
// its group, kafkajs has not given up, and no partition has been failing to
// make its outcomes durable for longer than HEALTH_STALL_MS. Offset resets
// found when restoring a partition are shown but do not make it unhealthy:
// the consumer goes on as STATS_ON_OFFSET_RESET says.
import type { OffsetReset } from './lane.ts';

export interface HealthStatus {
  ok: boolean;
  member: boolean;
  mode: string;
  crashed?: { error: string; at: string };
  /** Partitions that cannot make progress, and since when. */
  stalled: { topic: string; partition: number; since: string; error: string }[];
  offsetResets: (OffsetReset & { at: string })[];
}

interface Failing {
  since: number;
  error: string;
}

export class ConsumerHealth {
  private member = false;
  private crash: { error: string; at: string } | undefined;
  private readonly failing = new Map<string, Failing & { topic: string; partition: number }>();
  private readonly resets = new Map<string, OffsetReset & { at: string }>();

  constructor(
    private readonly mode: string,
    private readonly stallMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  joined(): void {
    this.member = true;
  }

  rebalancing(): void {
    this.member = false;
    this.failing.clear();
  }

  /** kafkajs gave up: the consumer will not consume again in this process. */
  crashed(error: Error): void {
    this.member = false;
    this.crash = { error: error.message, at: new Date(this.now()).toISOString() };
  }

  /** A partition failed to make progress; the first failure of a run starts its clock. */
  failed(topic: string, partition: number, error: Error): void {
    const key = `${topic}/${partition}`;
    const since = this.failing.get(key)?.since ?? this.now();
    this.failing.set(key, { topic, partition, since, error: error.message });
  }

  progressed(topic: string, partition: number): void {
    this.failing.delete(`${topic}/${partition}`);
  }

  offsetReset(reset: OffsetReset): void {
    this.resets.set(`${reset.topic}/${reset.partition}`, { ...reset, at: new Date(this.now()).toISOString() });
  }

  status(): HealthStatus {
    const now = this.now();
    const stalled = [...this.failing.values()]
      .filter(({ since }) => now - since >= this.stallMs)
      .map(({ topic, partition, since, error }) => ({ topic, partition, since: new Date(since).toISOString(), error }));
    return {
      ok: this.member && this.crash === undefined && stalled.length === 0,
      member: this.member,
      mode: this.mode,
      ...(this.crash && { crashed: this.crash }),
      stalled,
      offsetResets: [...this.resets.values()],
    };
  }
}
