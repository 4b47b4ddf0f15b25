// Blocking mode's retry state: a record that failed transiently waits in
// place, holding everything behind it in its partition, until its next
// attempt is due. The state lives in memory: after a restart or a rebalance a
// record starts its attempts again, so an order may get more retries than
// MAX_RETRIES, never fewer.

/** A record by where it was read, as the key its state is kept under (made once per record). */
export function recordKey(topic: string, partition: number, offset: string): string {
  return `${topic}/${partition}/${offset}`;
}

interface Waiting {
  /** The attempt to make next (2 after the first failed). */
  attempt: number;
  dueAt: number;
}

export class BlockingRetries {
  private readonly waiting = new Map<string, Waiting>();

  /** The attempt to make now: the next one when the record waits here, else `otherwise`. */
  attemptOf(record: string, otherwise: number): number {
    // Nothing waits in the common case: no lookup (no hash of the key) per record then.
    if (this.waiting.size === 0) return otherwise;
    return this.waiting.get(record)?.attempt ?? otherwise;
  }

  /** When the record's next attempt is due, if it waits here. */
  dueAt(record: string): number | undefined {
    if (this.waiting.size === 0) return undefined;
    return this.waiting.get(record)?.dueAt;
  }

  /** The record's `attempt`-th attempt failed; the next is due at `dueAt`. */
  failed(record: string, attempt: number, dueAt: number): void {
    this.waiting.set(record, { attempt: attempt + 1, dueAt });
  }

  /** The record has its outcome (counted, dead-lettered, sent on): it waits no more. */
  settled(record: string): void {
    if (this.waiting.size > 0) this.waiting.delete(record);
  }

  /** After a rebalance the partitions' state is restored from Kafka; nothing waits any more. */
  clear(): void {
    this.waiting.clear();
  }
}
