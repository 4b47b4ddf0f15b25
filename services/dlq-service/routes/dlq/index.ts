// /dlq: list, stats, one record, replay one, replay by filter.
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../api-error.ts';
import { decodeCursor, encodeCursor } from '../../index/cursor.ts';
import { entryId } from '../../index/entry.ts';
import type { DlqFilter } from '../../../lib/dlq.ts';
import { reasonsOf } from '../../index/summary.ts';
import {
  getSchema,
  listSchema,
  replayBulkSchema,
  replayOneSchema,
  statsSchema,
  type PageLimits,
} from '../../schemas/dlq.ts';
import { detailView, summaryView } from '../../views.ts';

interface ListQuery extends DlqFilter {
  limit: number;
  cursor?: string;
}

interface BulkBody extends DlqFilter {
  limit: number;
  dryRun: boolean;
  force: boolean;
}

/** Checks what a schema cannot: a time range that ends before it starts. */
function checkRange(filter: DlqFilter, place: string): void {
  if (filter.from !== undefined && filter.to !== undefined && Date.parse(filter.from) > Date.parse(filter.to)) {
    throw new ApiError(400, `${place} "from" (${filter.from}) is after "to" (${filter.to})`, 'INVALID_PARAMETER');
  }
}

export default async function dlqRoutes(app: FastifyInstance) {
  const { deadLetters, config } = app;
  const limits: PageLimits = {
    defaultSize: config.DLQ_PAGE_SIZE,
    maxSize: config.DLQ_PAGE_SIZE_MAX,
    replayMax: config.DLQ_REPLAY_BATCH_MAX,
  };

  // Every route here reads dead letters (the replay routes need the API token besides).
  app.addHook('onRequest', app.requireReadToken);

  const replayReady = () => {
    if (!deadLetters.replayStateLoaded) {
      throw new ApiError(
        503,
        `the replay state is still being read from ${config.REPLAYS_TOPIC}; try again in a few seconds`,
        'LOADING',
        { 'retry-after': '5' },
      );
    }
  };

  // A rebuild indexes the text it read only once it has read to the end.
  const textSearchReady = (filter: DlqFilter) => {
    if (deadLetters.archive.rebuilding && (filter.q !== undefined || filter.reason !== undefined)) {
      throw new ApiError(
        503,
        `the archive is being rebuilt from ${config.DLQ_TOPIC}; text search (q, reason) answers once it has ` +
          'read to the end (GET /ready answers 200)',
        'LOADING',
        { 'retry-after': '5' },
      );
    }
  };

  app.get<{ Querystring: ListQuery }>('', { schema: listSchema(limits) }, async (request) => {
    const { limit, cursor, ...filter } = request.query;
    checkRange(filter, 'query parameter');
    textSearchReady(filter);
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && after === undefined) {
      throw new ApiError(
        400,
        'query parameter "cursor" is not a cursor this service returned (use nextCursor of the previous page)',
        'INVALID_PARAMETER',
      );
    }
    const page = deadLetters.archive.page(filter, limit, after);
    return {
      items: page.items.map((entry) => summaryView(entry, deadLetters.stateOf(entry), deadLetters.inKafka(entry))),
      total: page.total,
      nextCursor: page.next === null ? null : encodeCursor(page.next),
    };
  });

  app.get<{ Querystring: DlqFilter }>('/stats', { schema: statsSchema }, async (request) => {
    checkRange(request.query, 'query parameter');
    textSearchReady(request.query);
    return deadLetters.archive.summary(request.query, Date.now());
  });

  app.get<{ Params: { id: string } }>('/:id', { schema: getSchema }, async (request) => {
    const entry = deadLetters.get(request.params.id);
    if (entry === undefined) {
      throw new ApiError(
        404,
        `no dead letter with id ${request.params.id} in ${config.DLQ_TOPIC} (ids are <partition>-<offset>)`,
        'NOT_FOUND',
      );
    }
    return detailView(entry, deadLetters.stateOf(entry), deadLetters.inKafka(entry));
  });

  app.post<{ Params: { id: string }; Body: { force?: boolean } | null }>(
    '/:id/replay',
    { schema: replayOneSchema, onRequest: app.requireToken },
    async (request) => {
      const entry = deadLetters.get(request.params.id);
      if (entry === undefined)
        throw new ApiError(404, `no dead letter with id ${request.params.id} in ${config.DLQ_TOPIC}`, 'NOT_FOUND');
      replayReady();
      const { replayed, refused, failed, unknown } = await deadLetters.replayer.replay(
        [entry],
        request.body?.force ?? false,
      );
      const [done] = replayed;
      if (done !== undefined)
        return { id: done.id, replayCount: done.replayCount, target: done.target, replayState: done.state };
      if (failed.length > 0)
        throw new ApiError(
          503,
          'Kafka did not accept the replay; nothing was replayed, so it is safe to try again.',
          'KAFKA_UNAVAILABLE',
        );
      if (unknown.length > 0)
        throw new ApiError(
          503,
          `Kafka did not answer the commit of the replay: it may or may not have happened. Do not simply retry: ` +
            `GET /dlq/${request.params.id} shows it in replays and replayState once the service has read the ` +
            `replay state back from ${config.REPLAYS_TOPIC} (seconds); replay again only if it shows none.`,
          'OUTCOME_UNKNOWN',
        );
      const [refusal] = refused;
      const status = refusal?.refusal === 'no-origin' ? 422 : 409;
      throw new ApiError(
        status,
        refusal?.message ?? 'not replayed',
        refusal?.refusal.toUpperCase().replaceAll('-', '_'),
      );
    },
  );

  app.post<{ Body: BulkBody }>(
    '/replay',
    { schema: replayBulkSchema(limits), onRequest: app.requireToken },
    async (request) => {
      const { limit, dryRun, force, ...filter } = request.body;
      checkRange(filter, 'body property');
      replayReady();
      textSearchReady(filter);
      const { items, total } = deadLetters.archive.select(filter, limit);
      if (dryRun) {
        // The same checks as a replay, without writing anything.
        const checks = items.map((entry) => ({ entry, check: deadLetters.replayer.check(entry, force) }));
        const eligible = checks.flatMap(({ entry, check }) => (check.ok ? [entry] : []));
        return {
          dryRun,
          matched: total,
          selected: items.length,
          replayed: eligible.length,
          ids: eligible.map(entryId),
          skipped: checks.flatMap(({ entry, check }) =>
            check.ok ? [] : [{ id: entryId(entry), code: check.refusal, message: check.message }],
          ),
          failed: [],
          unknown: [],
          reasons: reasonsOf(eligible),
        };
      }
      const result = await deadLetters.replayer.replay(items, force);
      const replayedIds = new Set(result.replayed.map((replayed) => replayed.id));
      return {
        dryRun,
        matched: total,
        selected: items.length,
        replayed: result.replayed.length,
        ids: [...replayedIds],
        skipped: result.refused.map(({ id, refusal, message }) => ({ id, code: refusal, message })),
        failed: result.failed,
        unknown: result.unknown,
        reasons: reasonsOf(items.filter((entry) => replayedIds.has(entryId(entry)))),
      };
    },
  );
}
