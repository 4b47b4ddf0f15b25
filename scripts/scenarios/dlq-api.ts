// A small client of the DLQ service's HTTP API (services/dlq-service), as a
// user would call it: what the scenarios assert through.
import type { DlqFilter } from '../../services/lib/dlq.ts';
import type { StatsView } from '../../services/lib/order-stats.ts';
import { answersOk } from '../harness/http-probe.ts';

/** GET /dlq's items (the fields the scenarios read). */
export interface DlqItem {
  /** `<DLQ partition>-<DLQ offset>` */
  id: string;
  failureClass: string | null;
  exceptionClass: string | null;
  message: string | null;
  /** The message with its variable parts replaced: equal for records failing for one cause. */
  reason: string;
  attempts: number | null;
  key: string | null;
  orderId: string | null;
  product: string | null;
  price: number | null;
  replays: number;
}

/** POST /dlq/replay's answer. */
export interface BulkReplay {
  dryRun: boolean;
  matched: number;
  replayed: number;
  ids: string[];
  skipped: { id: string; code: string; message: string }[];
  failed: string[];
  reasons: { reason: string; count: number }[];
}

/** GET /alerts's items (the fields the scenarios read). */
export interface ActiveAlert {
  name: string;
  labels: Record<string, string>;
  dlqFilter: DlqFilter | null;
  dlqUrl: string | null;
}

export interface DlqPage {
  items: DlqItem[];
  total: number;
  nextCursor: string | null;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    body: unknown,
    what: string,
  ) {
    super(`${what} answered ${status}: ${JSON.stringify(body)}`);
  }
}

const PAGE = 500;

export class DlqApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(method === 'POST' ? { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    const parsed: unknown = text === '' ? null : JSON.parse(text);
    if (!response.ok) throw new HttpError(response.status, parsed, `${method} ${path}`);
    return parsed as T;
  }

  /** GET /ready: the index has caught up with the DLQ and the broker answers. */
  ready(): Promise<boolean> {
    return answersOk(`${this.baseUrl}/ready`);
  }

  list(filter: DlqFilter = {}, page: { limit?: number; cursor?: string } = {}): Promise<DlqPage> {
    const query = new URLSearchParams(
      Object.entries({ ...filter, ...page })
        .filter(([, value]) => value !== undefined)
        .map(([name, value]) => [name, String(value)]),
    );
    return this.call('GET', `/dlq?${query}`);
  }

  /** Every record that matches, page after page. */
  async listAll(filter: DlqFilter = {}): Promise<DlqItem[]> {
    const items: DlqItem[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list(filter, { limit: PAGE, cursor });
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items;
  }

  async total(filter: DlqFilter = {}): Promise<number> {
    return (await this.list(filter, { limit: 1 })).total;
  }

  /**
   * GET /stats/orders: the consumer group's running aggregate (without the group's name, so it compares with a
   * StatsView).
   */
  async orderStats(): Promise<StatsView> {
    const { group: _group, ...stats } = await this.call<StatsView & { group: string }>('GET', '/stats/orders');
    return stats;
  }

  /** POST /dlq/{id}/replay; a refusal (409: already replayed, loop guard) rejects with an HttpError. */
  replay(id: string): Promise<{ id: string; replayCount: number }> {
    return this.call('POST', `/dlq/${encodeURIComponent(id)}/replay`, {});
  }

  /** GET /alerts: what Alertmanager last reported firing. */
  async alerts(): Promise<ActiveAlert[]> {
    return (await this.call<{ alerts: ActiveAlert[] }>('GET', '/alerts')).alerts;
  }

  replayMatching(filter: DlqFilter, options: { dryRun?: boolean } = {}): Promise<BulkReplay> {
    return this.call('POST', '/dlq/replay', { ...filter, ...options });
  }
}
