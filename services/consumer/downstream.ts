// The downstream step an order goes through once decoded and valid (in a real
// service: payment, stock, ...). Here it only waits a configurable time, and,
// when FAULT_INJECTION is on, fails as the producer's fault header asks, so
// scenarios can exercise retries. A replayed record never fails by injection:
// a replay stands for "the fault has been fixed, try again".
import type { IHeaders } from 'kafkajs';
import { headerText, REPLAY } from '../lib/dlq.ts';
import { TransientError } from '../lib/errors.ts';
import { FAULT_TRANSIENT_HEADER } from '../lib/fault-injection.ts';
import type { Order } from '../lib/order.ts';

export interface DownstreamOptions {
  faultInjection: boolean;
  latencyMs: number;
}

/** Undefined when the call is done (no latency configured), else a promise of it; throws (or rejects) on a failure. */
export function callDownstream(
  order: Order,
  attempt: number,
  headers: IHeaders | undefined,
  options: DownstreamOptions,
): Promise<void> | undefined {
  if (options.latencyMs > 0) {
    return new Promise((resolve) => setTimeout(resolve, options.latencyMs)).then(() =>
      injectFault(order, attempt, headers, options),
    );
  }
  injectFault(order, attempt, headers, options);
  return undefined;
}

function injectFault(order: Order, attempt: number, headers: IHeaders | undefined, options: DownstreamOptions): void {
  if (!options.faultInjection || headerText(headers, REPLAY.count) !== undefined) return;
  const failTimes = Number(headerText(headers, FAULT_TRANSIENT_HEADER) ?? 0);
  if (attempt <= failTimes) {
    throw new TransientError(
      `downstream timed out for order ${order.orderId} (injected fault, attempt ${attempt} of ${failTimes} failing)`,
    );
  }
}
