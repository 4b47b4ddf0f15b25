// The one error handler. A request's own fault (4xx) gets its message; a
// validation error becomes a 400 whose message names the parameter; anything
// else is logged with its detail and answered 500 without it.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';

type Validation = NonNullable<FastifyError['validation']>[number];

const PLACES: Record<string, string> = {
  querystring: 'query parameter',
  params: 'path parameter',
  body: 'body property',
  headers: 'header',
};

/** "query parameter "limit" must be <= 500", "unknown body property "forse"", ... */
export function validationMessage(context: string | undefined, issue: Validation): string {
  const place = PLACES[context ?? ''] ?? context ?? 'parameter';
  const params = issue.params as Record<string, unknown>;
  if (issue.keyword === 'additionalProperties') return `unknown ${place} "${String(params.additionalProperty)}"`;
  if (issue.keyword === 'required') return `${place} "${String(params.missingProperty)}" is required`;
  const name = issue.instancePath.slice(1).replaceAll('/', '.');
  const allowed = Array.isArray(params.allowedValues) ? `: ${params.allowedValues.join(', ')}` : '';
  if (name === '') return `${context === 'body' ? 'the body' : place} ${issue.message ?? 'is invalid'}${allowed}`;
  return `${place} "${name}" ${issue.message ?? 'is invalid'}${allowed}`;
}

export function errorHandler(error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) {
  if ('validation' in error && error.validation?.[0] !== undefined) {
    return reply.code(400).send({
      statusCode: 400,
      error: STATUS_CODES[400],
      message: validationMessage(error.validationContext, error.validation[0]),
      code: 'INVALID_PARAMETER',
    });
  }
  const status = error.statusCode ?? 500;
  if (status >= 500) {
    request.log.error({ err: error, method: request.method, url: request.url }, 'request failed');
    // A 5xx we chose to answer (ApiError) says what to do; any other hides its internals.
    if (!(error instanceof ApiError)) {
      return reply.code(status).send({
        statusCode: status,
        error: STATUS_CODES[status],
        message: 'internal error; the service log has the details',
      });
    }
    return reply
      .code(status)
      .headers(error.headers)
      .send({ statusCode: status, error: STATUS_CODES[status], message: error.message, code: error.code });
  }
  return reply
    .code(status)
    .headers(error instanceof ApiError ? error.headers : {})
    .send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: error.message, code: error.code });
}
