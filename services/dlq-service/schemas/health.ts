// Liveness, readiness and metrics.
export const healthSchema = {
  summary: 'Liveness: the process serves requests',
  tags: ['ops'],
  response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } },
} as const;

const readiness = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    broker: { type: 'boolean', description: 'the broker answered just now' },
    index: {
      type: 'object',
      properties: {
        loaded: { type: 'boolean', description: 'the DLQ was read to the end it had at start' },
        records: { type: 'integer' },
        lag: {
          type: ['integer', 'null'],
          description: 'records not yet indexed (null when the broker did not answer)',
        },
      },
    },
    replays: {
      type: 'object',
      properties: {
        loaded: { type: 'boolean', description: 'the replay state was read to the end it had at start' },
        lag: { type: ['integer', 'null'] },
      },
    },
  },
} as const;

export const readySchema = {
  summary: 'Readiness: the index and replay state are loaded and the broker answers (503 otherwise)',
  tags: ['ops'],
  response: { 200: readiness, 503: readiness },
} as const;

export const metricsSchema = {
  summary: 'Prometheus metrics (text exposition format)',
  tags: ['ops'],
  produces: ['text/plain'],
  response: { 200: { type: 'string', description: 'Prometheus text format' } },
} as const;
