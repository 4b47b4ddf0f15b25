// The retry envelope: headers of a record on a retry topic (RETRY_MODE=topics),
// saying where it was first read from, how many attempts failed and when it is
// due. The consumer writes and reads them (services/consumer/retry-topics.ts).

export const RETRY = {
  /** Attempts made so far (all failed). */
  attempt: 'x-retry-attempt',
  /** Epoch milliseconds from which the record may be processed again. */
  dueAt: 'x-retry-due-at',
  originalTopic: 'x-retry-original-topic',
  originalPartition: 'x-retry-original-partition',
  originalOffset: 'x-retry-original-offset',
  originalTimestamp: 'x-retry-original-timestamp',
  lastError: 'x-retry-last-error',
} as const;
