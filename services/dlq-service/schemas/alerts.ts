// POST /alerts (Alertmanager's webhook payload, version 4) and GET /alerts.
import { FAILURE_CLASSES } from '../../lib/dlq.ts';
import { errors, readSecurity } from './common.ts';

const labels = { type: 'object', additionalProperties: { type: 'string' } } as const;

const webhookAlert = {
  type: 'object',
  required: ['status', 'labels', 'annotations', 'startsAt', 'endsAt'],
  properties: {
    status: { type: 'string', enum: ['firing', 'resolved'] },
    labels: { ...labels, required: ['alertname'] },
    annotations: labels,
    startsAt: { type: 'string', format: 'date-time' },
    endsAt: { type: 'string', format: 'date-time' },
    generatorURL: { type: 'string' },
    fingerprint: { type: 'string' },
  },
} as const;

export const receiveAlertsSchema = {
  summary: "Alertmanager's webhook: takes a notification of an alert group (payload version 4)",
  description:
    'Configure it as a webhook receiver with `send_resolved: true` and `Authorization: Bearer ' +
    '<DLQ_ALERTS_TOKEN>` (observability/alertmanager.yml). Each notification carries the whole state of its ' +
    'group: its firing alerts replace what the group had.',
  tags: ['alerts'],
  security: [{ alertsToken: [] }],
  body: {
    type: 'object',
    required: ['version', 'groupKey', 'status', 'receiver', 'alerts'],
    properties: {
      version: { type: 'string', const: '4', description: 'the payload version this service reads' },
      groupKey: { type: 'string', minLength: 1 },
      truncatedAlerts: { type: 'integer', minimum: 0 },
      status: { type: 'string', enum: ['firing', 'resolved'] },
      receiver: { type: 'string' },
      groupLabels: labels,
      commonLabels: labels,
      commonAnnotations: labels,
      externalURL: { type: 'string' },
      alerts: { type: 'array', maxItems: 10_000, items: webhookAlert },
    },
  },
  response: {
    200: {
      type: 'object',
      required: ['firing', 'resolved'],
      properties: {
        firing: { type: 'integer', description: 'alerts of the notification that fire' },
        resolved: { type: 'integer', description: 'alerts of the notification that resolved' },
      },
    },
    ...errors(400, 401, 403),
  },
} as const;

export const listAlertsSchema = {
  summary: 'The alerts firing now, as Alertmanager last reported them; the most recent first',
  tags: ['alerts'],
  security: readSecurity,
  response: {
    200: {
      type: 'object',
      required: ['alerts'],
      properties: {
        alerts: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'severity', 'summary', 'description', 'labels', 'startsAt', 'dlqFilter', 'dlqUrl'],
            properties: {
              name: { type: 'string', description: 'alertname' },
              severity: { type: ['string', 'null'] },
              summary: { type: ['string', 'null'] },
              description: { type: ['string', 'null'] },
              labels,
              startsAt: { type: 'string', format: 'date-time' },
              dlqFilter: {
                type: ['object', 'null'],
                description: 'the dead letters the alert is about (its failure_class label), as GET /dlq filters',
                properties: { failureClass: { type: 'string', enum: FAILURE_CLASSES } },
              },
              dlqUrl: {
                type: ['string', 'null'],
                description: 'GET /dlq with that filter; null when the alert is not about one failure class',
              },
            },
          },
        },
      },
    },
    ...errors(401),
  },
} as const;
