// Pagination by position, not by page number: a cursor names the last record
// of a page (its sort key), and the next page starts after it. Records that
// arrive meanwhile do not shift pages. Opaque to clients (base64url), so the
// encoding may change without breaking them.
export interface Position {
  time: number;
  partition: number;
  offset: number;
}

export function encodeCursor({ time, partition, offset }: Position): string {
  return Buffer.from(`${time}.${partition}.${offset}`).toString('base64url');
}

/** The position a cursor names, or undefined when it is not a cursor this service made. */
export function decodeCursor(cursor: string): Position | undefined {
  const match = /^(-?\d{1,16})\.(\d{1,9})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (match === null) return undefined;
  const [time, partition, offset] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return Number.isSafeInteger(time) && Number.isSafeInteger(offset) ? { time, partition, offset } : undefined;
}
