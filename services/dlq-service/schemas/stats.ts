// GET /stats/orders: the consumer group's running aggregate. GET
// /stats/history: the last hour of it and of the dead letters (the
// dashboard's charts).
import { FAILURE_CLASSES } from '../../lib/dlq.ts';
import { errors, readSecurity } from './common.ts';

/** What both routes share: read security, and the consumer group as the only parameter. */
const groupRead = {
  tags: ['stats'],
  security: readSecurity,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      group: { type: 'string', minLength: 1, maxLength: 249, description: 'consumer group (default: CONSUMER_GROUP)' },
    },
  },
} as const;

const tally = {
  count: { type: 'integer' },
  sumCents: { type: 'integer', description: 'sum of prices in whole cents (exact)' },
  average: { type: ['number', 'null'], description: 'running average price; null before any order' },
} as const;

export const orderStatsSchema = {
  summary: 'The running aggregate of the consumer group (overall and per product), read from the order-stats topic',
  ...groupRead,
  response: {
    200: {
      type: 'object',
      properties: {
        group: { type: 'string' },
        ...tally,
        products: { type: 'object', additionalProperties: { type: 'object', properties: tally } },
      },
    },
    ...errors(400, 401),
  },
} as const;

const timeList = (description: string) =>
  ({ type: 'array', description, items: { type: 'string', format: 'date-time' } }) as const;

export const historySchema = {
  summary: 'The last hour: dead letters per minute by failure class, orders processed per second, running average',
  description:
    'Dead letters: per minute of the last 60 (the last one holds now), by failure class, from the archive; every ' +
    `failure class (${FAILURE_CLASSES.join(', ')}) is listed, with zeros where there were none. ` +
    'Orders: per 10-second bucket of the last hour (the last one holds now and is still filling), by the ' +
    "timestamps of the order-stats records, as the service read them: the increase of the group's count in the " +
    'bucket ÷ 10, and the running average price at its end. order-stats is compacted: once Kafka has compacted ' +
    'it, a service that starts again reads only what is left, and the buckets before that show no orders.',
  ...groupRead,
  response: {
    200: {
      type: 'object',
      required: ['group', 'deadLetters', 'orders'],
      properties: {
        group: { type: 'string' },
        deadLetters: {
          type: 'object',
          required: ['minutes', 'byFailureClass'],
          properties: {
            minutes: timeList('the start of each minute, oldest first (60)'),
            byFailureClass: {
              type: 'object',
              description: 'per failure class, the dead letters of each minute, in the order of minutes',
              additionalProperties: { type: 'array', items: { type: 'integer' } },
            },
          },
        },
        orders: {
          type: 'object',
          required: ['bucketSeconds', 'times', 'perSecond', 'average'],
          properties: {
            bucketSeconds: { type: 'integer' },
            times: timeList('the start of each bucket, oldest first (360)'),
            perSecond: {
              type: 'array',
              description: 'orders processed per second in each bucket; null before the service knew of the group',
              items: { type: ['number', 'null'] },
            },
            average: {
              type: 'array',
              description: 'the running average price at the end of each bucket; null before any order',
              items: { type: ['number', 'null'] },
            },
          },
        },
      },
    },
    ...errors(400, 401),
  },
} as const;
