// One JSON line per event (pino). Services bind orderId/topic/partition/offset
// on the line itself so a log search can follow one order end to end.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, level = 'info'): Logger {
  return pino({ name: service, level, base: { service } });
}
