// /alerts: Alertmanager's webhook (POST) and the alerts firing now (GET).
import type { FastifyInstance } from 'fastify';
import { ActiveAlerts, type WebhookPayload } from '../../alerts/active-alerts.ts';
import { listAlertsSchema, receiveAlertsSchema } from '../../schemas/alerts.ts';

export default async function alertsRoutes(app: FastifyInstance) {
  const alerts = new ActiveAlerts();

  app.post<{ Body: WebhookPayload }>(
    '',
    { schema: receiveAlertsSchema, onRequest: app.requireAlertsToken },
    async (request) => {
      const counts = alerts.receive(request.body);
      request.log.info({ groupKey: request.body.groupKey, ...counts }, 'alert notification from Alertmanager');
      return counts;
    },
  );

  app.get('', { schema: listAlertsSchema, onRequest: app.requireReadToken }, async () => ({
    alerts: alerts.list().map((alert) => ({
      ...alert,
      dlqUrl: alert.dlqFilter === null ? null : `/dlq?${new URLSearchParams({ ...alert.dlqFilter })}`,
    })),
  }));
}
