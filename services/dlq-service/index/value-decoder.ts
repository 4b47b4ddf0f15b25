// Decodes dead-letter values through the registry. A value that can never
// decode is kept as bytes with the reason (UndecodableError); a registry that
// cannot answer throws RegistryUnreachableError so the caller waits and tries
// again rather than recording a wrong reason.
import { UndecodableError } from '../../lib/errors.ts';
import type { Serde } from '../../lib/serde.ts';

export interface DecodeResult {
  schemaId: number | null;
  order: Record<string, unknown> | null;
  undecodable: { reason: string; message: string } | null;
}

/**
 * How long an id the registry said it does not know is taken as unknown
 * without asking again: a DLQ full of such poison records would otherwise
 * cost one registry request per record on every rebuild.
 */
const UNKNOWN_ID_TTL_MS = 60_000;

export class ValueDecoder {
  private readonly unknownIds = new Map<number, { error: UndecodableError; until: number }>();

  constructor(private readonly serde: Serde) {}

  async decode(bytes: Buffer | null): Promise<DecodeResult> {
    const schemaId = bytes !== null && bytes.length >= 5 && bytes[0] === 0 ? bytes.readInt32BE(1) : null;
    const known = schemaId === null ? undefined : this.unknownIds.get(schemaId);
    if (known !== undefined && known.until > Date.now()) return undecodable(known.error, schemaId);
    try {
      const decoded = await this.serde.decode(bytes);
      return { schemaId: decoded.schemaId, order: decoded.value, undecodable: null };
    } catch (error) {
      if (!(error instanceof UndecodableError)) throw error;
      if (error.reason === 'unknown-schema-id' && schemaId !== null)
        this.unknownIds.set(schemaId, { error, until: Date.now() + UNKNOWN_ID_TTL_MS });
      return undecodable(error, schemaId);
    }
  }
}

function undecodable(error: UndecodableError, schemaId: number | null): DecodeResult {
  return { schemaId, order: null, undecodable: { reason: error.reason, message: error.message } };
}
