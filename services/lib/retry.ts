// Exponential backoff: delay(n) = min(base * factor^(n-1), cap), n = 1..maxRetries,
// then optional jitter. With the defaults (base 1000 ms, factor 2, 3 retries)
// the schedule is 1000, 2000, 4000 ms.
export interface BackoffPolicy {
  baseMs: number;
  factor: number;
  maxMs: number;
  /** 0..1: each delay is drawn uniformly from [delay * (1 - jitter), delay]. */
  jitter: number;
  maxRetries: number;
}

/** The wait before retry number `retry` (1-based). `random` returns [0, 1). */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.baseMs * policy.factor ** (retry - 1), policy.maxMs);
  // "Full jitter" lowered by at most `jitter` of the delay: spreads retries of
  // many failing records without ever waiting longer than the schedule says.
  return Math.round(exponential * (1 - policy.jitter * random()));
}

/** The whole schedule without jitter, e.g. for logs and the README. */
export function backoffSchedule(policy: BackoffPolicy): number[] {
  return Array.from({ length: policy.maxRetries }, (_, i) => backoffDelay({ ...policy, jitter: 0 }, i + 1));
}

/** Cancellable wait: resolves true when the time is up, false when aborted. */
export function wait(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
