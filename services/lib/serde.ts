// Avro serde through a Confluent-compatible schema registry. The wire format
// (magic byte 0, 4-byte big-endian schema id, Avro binary) and the registry
// calls are @kafkajs/confluent-schema-registry's; this module adds what the
// consumer needs on top: errors that tell a bad payload (permanent) from a
// registry we cannot reach (infrastructure, never the order's fault).
import { readFile } from 'node:fs/promises';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { RegistryUnreachableError, UndecodableError } from './errors.ts';

export const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;
/** The longest one registry request may take, by default. */
const REQUEST_TIMEOUT_MS = 10_000;

type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];
/** A deadline on every request to the registry (its HTTP client's timeout option). */
const withTimeout =
  (timeoutMs: number): RegistryMiddleware =>
  () => ({
    async prepareRequest(next) {
      return (await next()).enhance({ timeout: timeoutMs });
    },
  });

export interface Decoded<T> {
  schemaId: number;
  value: T;
}

interface RegistryResponseError extends Error {
  status?: number;
}

export async function readSchemaFile(path: string | URL): Promise<string> {
  const text = await readFile(path, 'utf8');
  JSON.parse(text); // fail here, naming the file, rather than inside the registry client
  return text;
}

/** What the registry client gives for an Avro schema id: an avsc type (its own decode() uses the same call). */
interface AvroType {
  fromBuffer(payload: Buffer): unknown;
  toBuffer(value: unknown): Buffer;
}

/** The payload after the 5-byte header, with the writer's schema (the client's decode() without a reader schema). */
function decodeWith<T>(type: AvroType, schemaId: number, bytes: Buffer): Decoded<T> {
  try {
    // avsc returns record class instances; callers want plain objects.
    return { schemaId, value: { ...(type.fromBuffer(bytes.subarray(HEADER_BYTES)) as object) } as T };
  } catch (error) {
    throw new UndecodableError(
      'malformed-avro',
      `Avro payload does not match schema ${schemaId}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

export class Serde {
  private readonly registry: SchemaRegistry;
  /** The schemas fetched so far, by id (a schema id never changes meaning in a registry). */
  private readonly types = new Map<number, AvroType>();

  constructor(
    readonly registryUrl: string,
    { requestTimeoutMs = REQUEST_TIMEOUT_MS }: { requestTimeoutMs?: number } = {},
  ) {
    // Few, short client-side retries: callers decide how long to keep trying
    // (the consumer waits on the registry with its own capped backoff).
    this.registry = new SchemaRegistry({
      host: registryUrl,
      retry: { retries: 2, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 1 },
      // No request waits for ever: an answer that never comes (a kept-alive
      // connection the registry stopped reading) is a registry that cannot
      // answer now, which every caller already waits out with its own backoff.
      middlewares: [withTimeout(requestTimeoutMs)],
    });
  }

  /** Registers the schema under the subject (idempotent) and returns its id. */
  async register(
    schemaText: string,
    subject: string,
    compatibility: 'BACKWARD' | 'NONE' = 'BACKWARD',
  ): Promise<number> {
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: schemaText },
        { subject, compatibility: compatibility as never },
      );
      return id;
    } catch (error) {
      throw this.failure(error, `register a schema under ${subject}`);
    }
  }

  /** The id of the newest schema registered under the subject. */
  async latestId(subject: string): Promise<number> {
    try {
      return await this.registry.getLatestSchemaId(subject);
    } catch (error) {
      throw this.failure(error, `read the latest schema of ${subject}`);
    }
  }

  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    const known = this.encodeKnown(schemaId, value);
    if (known !== undefined) return known;
    try {
      const bytes = await this.registry.encode(schemaId, value);
      this.types.set(schemaId, (await this.registry.getSchema(schemaId)) as AvroType);
      return bytes;
    } catch (error) {
      if (isRegistryResponse(error)) throw this.failure(error, `fetch schema ${schemaId}`);
      throw error;
    }
  }

  /**
   * encode() without waiting, for a schema fetched before (by encode() or
   * decode()): the same bytes, the same avsc call the registry client makes.
   * Undefined when the schema is not known here yet, or when the value does
   * not fit it: encode() then fetches it, or says what does not fit.
   */
  encodeKnown(schemaId: number, value: unknown): Buffer | undefined {
    const type = this.types.get(schemaId);
    if (type === undefined) return undefined;
    let payload: Buffer;
    try {
      payload = type.toBuffer(value);
    } catch {
      return undefined;
    }
    const bytes = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
    bytes[0] = MAGIC_BYTE;
    bytes.writeInt32BE(schemaId, 1);
    payload.copy(bytes, HEADER_BYTES);
    return bytes;
  }

  /**
   * Decodes registry-framed Avro. Throws UndecodableError for bytes that can
   * never decode (too short, wrong magic byte, schema id the registry does
   * not know, malformed Avro) and RegistryUnreachableError when the registry
   * cannot answer, so the caller can retry that and dead-letter the rest.
   */
  async decode<T = Record<string, unknown>>(bytes: Buffer | null): Promise<Decoded<T>> {
    const known = this.decodeKnown<T>(bytes);
    if (known !== undefined) return known;
    const schemaId = (bytes as Buffer).readInt32BE(1);
    let type: AvroType;
    try {
      type = (await this.registry.getSchema(schemaId)) as AvroType;
    } catch (error) {
      if (isRegistryResponse(error) && error.status === 404) {
        throw new UndecodableError('unknown-schema-id', `schema id ${schemaId} is not known to the registry`, {
          cause: error,
        });
      }
      // Any other answer (down, 5xx, auth) is a registry we cannot use right
      // now, never a reason to dead-letter the order.
      if (isRegistryResponse(error)) throw this.unreachable(error, `fetch schema ${schemaId}`);
      throw error;
    }
    this.types.set(schemaId, type);
    return decodeWith<T>(type, schemaId, bytes as Buffer);
  }

  /**
   * decode() without waiting, for bytes whose schema was fetched before:
   * undefined when it was not (then decode() fetches it). The registry client
   * stays the source of schemas; this skips its promises per record, which
   * cost more than the Avro decoding itself on the consumer's hot path.
   * Throws what decode() rejects with for bytes that can never decode.
   */
  decodeKnown<T = Record<string, unknown>>(bytes: Buffer | null): Decoded<T> | undefined {
    if (bytes === null || bytes.length < HEADER_BYTES) {
      throw new UndecodableError(
        'too-short',
        `value has ${bytes?.length ?? 0} bytes; the wire format needs at least ${HEADER_BYTES}`,
      );
    }
    if (bytes[0] !== MAGIC_BYTE) {
      throw new UndecodableError('bad-magic-byte', `magic byte is ${bytes[0]}, expected ${MAGIC_BYTE}`);
    }
    const schemaId = bytes.readInt32BE(1);
    const type = this.types.get(schemaId);
    return type === undefined ? undefined : decodeWith<T>(type, schemaId, bytes);
  }

  private failure(error: unknown, what: string): Error {
    if (!isRegistryResponse(error)) return error as Error;
    // The client reports connection failures as status 400 with the socket
    // error in the message; they and 5xx mean the registry is not usable.
    const status = error.status ?? 0;
    const networkFailure = status === 400 && /\bE[A-Z]{4,}\b|socket hang up|timeout/i.test(error.message);
    if (networkFailure || status >= 500) return this.unreachable(error, what);
    return new Error(`schema registry at ${this.registryUrl} refused to ${what}: ${error.message}`, { cause: error });
  }

  private unreachable(error: RegistryResponseError, what: string): RegistryUnreachableError {
    return new RegistryUnreachableError(
      this.registryUrl,
      `schema registry at ${this.registryUrl} could not ${what}: ${error.message}`,
      {
        cause: error,
      },
    );
  }
}

function isRegistryResponse(error: unknown): error is RegistryResponseError {
  return error instanceof Error && error.name === 'ResponseError';
}
