// Request and response schemas of the /dlq routes. They validate requests
// (every bad parameter is a 400 that names it) and document the API.
import { FAILURE_CLASSES, TRUNCATED_PARTS } from '../../lib/dlq.ts';
import { bearerSecurity, errors, readSecurity } from './common.ts';

export interface PageLimits {
  defaultSize: number;
  maxSize: number;
  replayMax: number;
}

const ID_DESCRIPTION = 'Record id: `<DLQ partition>-<DLQ offset>`, e.g. `2-1041`.';

const WHILE_REBUILDING =
  '; while the archive is rebuilt from the topic, a request with it answers 503 (code LOADING) until GET /ready ' +
  'answers 200';

/** The filters GET /dlq, GET /dlq/stats and POST /dlq/replay share. */
const filterProperties = {
  failureClass: { type: 'string', enum: FAILURE_CLASSES, description: 'x-dlq-failure-class' },
  reason: {
    type: 'string',
    minLength: 1,
    maxLength: 200,
    description: `text within the exception message (case-insensitive)${WHILE_REBUILDING}`,
  },
  product: { type: 'string', minLength: 1, maxLength: 200, description: "the decoded order's product, exactly" },
  orderId: { type: 'string', minLength: 1, maxLength: 200, description: "the decoded order's orderId, exactly" },
  q: {
    type: 'string',
    minLength: 1,
    maxLength: 200,
    description: `text within the orderId (or key), product or exception message (case-insensitive)${WHILE_REBUILDING}`,
  },
  from: { type: 'string', format: 'date-time', description: 'dead-lettered at or after (ISO 8601)' },
  to: { type: 'string', format: 'date-time', description: 'dead-lettered before (ISO 8601)' },
  replayed: {
    type: 'boolean',
    description: 'true: only records replayed from this DLQ; false: only those never replayed',
  },
} as const;

const nullableString = { type: ['string', 'null'] } as const;

function originalDigest(part: 'value' | 'key') {
  return {
    type: ['object', 'null'],
    description:
      `with the ${part} cut: the original ${part}'s size and SHA-256, to find the original elsewhere ` +
      `(x-dlq-original-${part}-bytes, x-dlq-original-${part}-sha256); null otherwise`,
    required: ['bytes', 'sha256'],
    properties: {
      bytes: { type: 'integer', description: `the original ${part}'s size in bytes` },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: `SHA-256 of the original ${part}, hex` },
    },
  } as const;
}

export const summarySchema = {
  $id: 'DeadLetterSummary',
  type: 'object',
  required: [
    'id',
    'partition',
    'offset',
    'inKafka',
    'failedAt',
    'failureClass',
    'reason',
    'replays',
    'truncated',
    'originalValue',
    'originalKey',
  ],
  properties: {
    id: { type: 'string', description: ID_DESCRIPTION },
    partition: { type: 'integer', description: 'DLQ partition' },
    offset: { type: 'string', description: 'DLQ offset (int64, as text)' },
    inKafka: {
      type: 'boolean',
      description:
        "the DLQ topic still holds the record; false once Kafka's retention has removed it and only the " +
        'archive has it (it can still be shown and replayed from the archived bytes)',
    },
    failedAt: { type: 'string', format: 'date-time', description: 'x-dlq-failed-at, else the DLQ record timestamp' },
    failureClass: { ...nullableString, description: 'invalid | retries-exhausted | undecodable' },
    exceptionClass: nullableString,
    message: { ...nullableString, description: 'the exception message' },
    reason: {
      type: 'string',
      description: 'the message with ids and numbers replaced by placeholders: equal for records failing for one cause',
    },
    attempts: { type: ['integer', 'null'] },
    key: { ...nullableString, description: 'the record key as UTF-8 text' },
    orderId: nullableString,
    product: nullableString,
    price: {
      type: ['number', 'null'],
      description:
        "the order's price in whole cents, as the aggregate counts it; null when absent or not a finite number",
    },
    origin: {
      type: ['object', 'null'],
      description: 'where the order was read from (kafka_dlt-original-*)',
      properties: {
        topic: { type: 'string' },
        partition: { type: ['integer', 'null'] },
        offset: nullableString,
        timestamp: nullableString,
      },
    },
    replayCount: {
      type: 'integer',
      description: 'x-replay-count on the dead letter: replays of the order before it failed this time',
    },
    replays: { type: 'integer', description: 'times this record was replayed' },
    lastReplayAt: { type: ['string', 'null'], format: 'date-time' },
    undecodable: {
      type: ['object', 'null'],
      description: 'why the value did not decode (then the order fields are null)',
      properties: { reason: { type: 'string' }, message: { type: 'string' } },
    },
    truncated: {
      type: 'array',
      items: { type: 'string', enum: [...TRUNCATED_PARTS] },
      description:
        'x-dlq-truncated: what the consumer cut to make the dead letter fit the DLQ topic, in the order it cut; ' +
        'empty when nothing was. With headers, value or key cut the record is not the original and is never replayed.',
    },
    originalValue: originalDigest('value'),
    originalKey: originalDigest('key'),
  },
} as const;

const replayEvent = {
  type: 'object',
  properties: {
    at: { type: 'string', format: 'date-time' },
    replayCount: { type: 'integer', description: 'x-replay-count of the replayed record' },
    topic: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'string' },
  },
} as const;

export const replayStateSchema = {
  $id: 'ReplayState',
  type: 'object',
  properties: {
    count: { type: 'integer' },
    history: { type: 'array', items: replayEvent, description: 'the latest replays, oldest first' },
  },
} as const;

export const detailSchema = {
  $id: 'DeadLetter',
  type: 'object',
  required: summarySchema.required,
  properties: {
    ...summarySchema.properties,
    order: {
      type: ['object', 'null'],
      additionalProperties: true,
      description: 'the decoded value (NaN and Infinity as text: JSON has no such numbers)',
    },
    schemaId: { type: ['integer', 'null'] },
    value: { ...nullableString, description: 'the original value bytes, base64' },
    keyBase64: { ...nullableString, description: 'the original key bytes, base64' },
    headers: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'every header of the dead letter, as text',
    },
    consumerGroup: nullableString,
    stacktrace: nullableString,
    replayState: { $ref: 'ReplayState#' },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^\\d{1,9}-\\d{1,16}$', description: ID_DESCRIPTION } },
} as const;

export function listSchema(limits: PageLimits) {
  return {
    summary: 'List dead letters, newest first',
    tags: ['dlq'],
    security: readSecurity,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ...filterProperties,
        limit: { type: 'integer', minimum: 1, maximum: limits.maxSize, default: limits.defaultSize },
        cursor: {
          type: 'string',
          maxLength: 200,
          pattern: '^[A-Za-z0-9_-]+$',
          description: 'nextCursor of the previous page',
        },
      },
    },
    response: {
      200: {
        type: 'object',
        required: ['items', 'total', 'nextCursor'],
        properties: {
          items: { type: 'array', items: { $ref: 'DeadLetterSummary#' } },
          total: { type: 'integer', description: 'records matching the filters, on all pages' },
          nextCursor: { ...nullableString, description: 'pass as cursor for the next page; null on the last page' },
        },
      },
      ...errors(400, 401, 503),
    },
  };
}

export const statsSchema = {
  summary: 'Counts of dead letters (all, or those matching the filters)',
  tags: ['dlq'],
  security: readSecurity,
  querystring: { type: 'object', additionalProperties: false, properties: filterProperties },
  response: {
    200: {
      type: 'object',
      properties: {
        total: { type: 'integer' },
        replayed: { type: 'integer' },
        byFailureClass: { type: 'object', additionalProperties: { type: 'integer' } },
        byProduct: {
          type: 'object',
          additionalProperties: { type: 'integer' },
          description: '"(none)" counts records without a decoded product',
        },
        byReason: {
          type: 'array',
          description: 'most frequent first (at most 50)',
          items: { type: 'object', properties: { reason: { type: 'string' }, count: { type: 'integer' } } },
        },
        perMinute: {
          type: 'array',
          description: 'the last 60 minutes, oldest first',
          items: {
            type: 'object',
            properties: { minute: { type: 'string', format: 'date-time' }, count: { type: 'integer' } },
          },
        },
        oldest: { type: ['string', 'null'], format: 'date-time' },
        newest: { type: ['string', 'null'], format: 'date-time' },
      },
    },
    ...errors(400, 401, 503),
  },
} as const;

export const getSchema = {
  summary: 'One dead letter: decoded order, original bytes, origin, headers, replay history',
  tags: ['dlq'],
  security: readSecurity,
  params: idParams,
  response: { 200: { $ref: 'DeadLetter#' }, ...errors(400, 401, 404) },
} as const;

const forceProperty = {
  type: 'boolean',
  default: false,
  description: 'replay records that were already replayed (the loop guard still applies)',
} as const;

const replayedSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    replayCount: { type: 'integer', description: 'x-replay-count of the replayed record' },
    target: {
      type: 'object',
      properties: { topic: { type: 'string' }, partition: { type: 'integer' }, offset: { type: 'string' } },
    },
    replayState: { $ref: 'ReplayState#' },
  },
} as const;

export const replayOneSchema = {
  summary: 'Replay one dead letter to its original topic',
  description:
    'Publishes the original key, value and headers to the original topic (original partition when it exists) with ' +
    'x-replay-count, x-replay-from and x-replay-at, ' +
    'and records the replay, in one transaction. A record already replayed answers 409 (code ALREADY_REPLAYED) and ' +
    'nothing is done, unless force is true. ' +
    'Past DLQ_MAX_REPLAYS replays of the order it answers 409 (code MAX_REPLAYS), force or not. ' +
    'A record whose headers, value or key were cut to fit the DLQ topic answers 409 (code TRUNCATED), force or not; ' +
    "the message gives the original's size, SHA-256 and origin. " +
    'A 503 with code KAFKA_UNAVAILABLE means nothing was replayed (safe to retry); with code OUTCOME_UNKNOWN, ' +
    'the commit got no answer and the replay may have happened: GET /dlq/{id} shows it in replays once the ' +
    'replay state is read back, so check before replaying again. Needs Authorization: Bearer <DLQ_API_TOKEN>.',
  tags: ['replay'],
  security: bearerSecurity,
  params: idParams,
  body: { type: ['object', 'null'], additionalProperties: false, properties: { force: forceProperty } },
  response: { 200: replayedSchema, ...errors(400, 401, 403, 404, 409, 422, 503) },
} as const;

export function replayBulkSchema(limits: PageLimits) {
  return {
    summary: 'Replay the dead letters matching the filters (oldest first), or preview it with dryRun',
    description:
      'Same filters as GET /dlq. Records already replayed are skipped unless force is true; records past ' +
      'DLQ_MAX_REPLAYS are always skipped. ' +
      'So are records whose headers, value or key were cut to fit the DLQ topic (code truncated). ' +
      'dryRun answers what would be replayed and a histogram of their reasons, and changes nothing. Needs ' +
      'Authorization: Bearer <DLQ_API_TOKEN>.',
    tags: ['replay'],
    security: bearerSecurity,
    body: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ...filterProperties,
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: limits.replayMax,
          default: limits.replayMax,
          description: 'most records to replay',
        },
        dryRun: { type: 'boolean', default: false },
        force: forceProperty,
      },
    },
    response: {
      200: {
        type: 'object',
        properties: {
          dryRun: { type: 'boolean' },
          matched: { type: 'integer', description: 'records matching the filters' },
          selected: { type: 'integer', description: 'of those, the oldest `limit`' },
          replayed: { type: 'integer', description: 'records replayed (dry run: that would be)' },
          ids: { type: 'array', items: { type: 'string' }, description: 'ids replayed (dry run: that would be)' },
          skipped: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                code: { type: 'string', description: 'already-replayed | max-replays | no-origin | truncated' },
                message: { type: 'string', description: 'why it was skipped' },
              },
            },
          },
          failed: {
            type: 'array',
            items: { type: 'string' },
            description:
              'ids not replayed because Kafka refused or did not answer their transaction before its commit: ' +
              'nothing of it was written, so they are safe to retry',
          },
          unknown: {
            type: 'array',
            items: { type: 'string' },
            description:
              'ids whose transaction was committing when Kafka did not answer: replayed or not, their replay ' +
              'state (GET /dlq/{id}) shows once read back; retry only those it shows as not replayed',
          },
          reasons: {
            type: 'array',
            description: 'reasons of the replayed (dry run: to be replayed) records, most frequent first',
            items: { type: 'object', properties: { reason: { type: 'string' }, count: { type: 'integer' } } },
          },
        },
      },
      ...errors(400, 401, 403, 503),
    },
  };
}
