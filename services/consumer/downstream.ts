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

export async function callDownstream(
  order: Order,
  attempt: number,
  headers: IHeaders | undefined,
  options: DownstreamOptions,
): Promise<void> {
  if (options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
  if (!options.faultInjection || headerText(headers, REPLAY.count) !== undefined) return;
  const failTimes = Number(headerText(headers, FAULT_TRANSIENT_HEADER) ?? 0);
  if (attempt <= failTimes) {
    throw new TransientError(
      `downstream timed out for order ${order.orderId} (injected fault, attempt ${attempt} of ${failTimes} failing)`,
    );
  }
}
