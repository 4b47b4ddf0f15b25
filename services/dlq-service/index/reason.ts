// Failure messages name the order they failed ("price -12.5 is not positive",
// "downstream timed out for order 5f0c..."), so counting them as they are gives
// one bucket per record. A reason is the message with its variable parts
// (ids, numbers, quoted text) replaced by placeholders: messages of one cause
// share it, and a histogram of reasons shows causes.
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const QUOTED = /"[^"]*"|'[^']*'/g;
const HEX = /\b0x[0-9a-f]+\b/gi;
const NUMBER = /-?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b|-?\bInfinity\b|\bNaN\b/g;
const MAX_REASON_CHARS = 200;

export function reasonOf(message: string): string {
  const reason = message.replace(UUID, '<id>').replace(QUOTED, '"…"').replace(HEX, '<n>').replace(NUMBER, '<n>').trim();
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
}
