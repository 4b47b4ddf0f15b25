// GET /stats/orders: the consumer group's running aggregate.
import { errors, readSecurity } from './common.ts';

const tally = {
  count: { type: 'integer' },
  sumCents: { type: 'integer', description: 'sum of prices in whole cents (exact)' },
  average: { type: ['number', 'null'], description: 'running average price; null before any order' },
} as const;

export const orderStatsSchema = {
  summary: 'The running aggregate of the consumer group (overall and per product), read from the order-stats topic',
  tags: ['stats'],
  security: readSecurity,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      group: { type: 'string', minLength: 1, maxLength: 249, description: 'consumer group (default: CONSUMER_GROUP)' },
    },
  },
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
