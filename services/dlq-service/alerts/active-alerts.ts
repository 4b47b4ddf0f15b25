// The alerts Alertmanager reports as firing, from its webhook (POST /alerts).
// Alertmanager sends the whole state of an alert group with every
// notification of that group: the active alerts are the firing ones of each
// group's latest notification, so a resolved alert, or one that left the
// group, is gone once the next notification comes. Kept in memory: after a
// restart the list fills again at the group's next notification
// (repeat_interval in observability/alertmanager.yml).
import { FAILURE_CLASSES } from '../../lib/dlq.ts';

/** One alert of Alertmanager's webhook payload (version 4). */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  fingerprint?: string;
}

/** Alertmanager's webhook payload (version 4); the fields this service reads. */
export interface WebhookPayload {
  version: string;
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  alerts: WebhookAlert[];
}

export interface ActiveAlert {
  name: string;
  severity: string | null;
  summary: string | null;
  description: string | null;
  labels: Record<string, string>;
  startsAt: string;
  /** The dead letters the alert is about, as a GET /dlq filter; null when it is not about a failure class. */
  dlqFilter: { failureClass: string } | null;
}

function activeAlert(alert: WebhookAlert): ActiveAlert {
  const failureClass = alert.labels.failure_class;
  return {
    name: alert.labels.alertname ?? '(no alertname)',
    severity: alert.labels.severity ?? null,
    summary: alert.annotations.summary ?? null,
    description: alert.annotations.description ?? null,
    labels: alert.labels,
    startsAt: alert.startsAt,
    dlqFilter:
      failureClass !== undefined && (FAILURE_CLASSES as readonly string[]).includes(failureClass)
        ? { failureClass }
        : null,
  };
}

export class ActiveAlerts {
  private readonly groups = new Map<string, ActiveAlert[]>();

  /** Takes a notification: its group's firing alerts replace what the group had. Returns the counts it held. */
  receive(payload: WebhookPayload): { firing: number; resolved: number } {
    const firing = payload.alerts.filter((alert) => alert.status === 'firing').map(activeAlert);
    if (firing.length === 0) this.groups.delete(payload.groupKey);
    else this.groups.set(payload.groupKey, firing);
    return { firing: firing.length, resolved: payload.alerts.length - firing.length };
  }

  /** Every firing alert, the most recent first. */
  list(): ActiveAlert[] {
    return [...this.groups.values()].flat().sort((a, b) => Date.parse(b.startsAt) - Date.parse(a.startsAt));
  }
}
