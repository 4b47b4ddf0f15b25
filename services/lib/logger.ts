// One JSON line per event (pino). Services bind orderId/topic/partition/offset
// on the line itself so a log search can follow one order end to end.
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Logs go to stdout (fd 1) unless `fd` says otherwise. pino writes them
 * asynchronously, so a program that prints data on stdout must log elsewhere:
 * an async log line can land inside a large synchronous write of the data.
 */
export function createLogger(service: string, level = 'info', fd = 1): Logger {
  return pino({ name: service, level, base: { service } }, pino.destination({ dest: fd, sync: false }));
}
