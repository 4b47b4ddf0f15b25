// Bearer-token checks. The routes that change something need DLQ_API_TOKEN:
// without one configured they answer 403 and say how to enable them; a
// missing or wrong token is 401. The read routes need DLQ_READ_TOKEN (or the
// API token) when one is set, as dead letters can hold personal data; unset,
// reads are open. The token is compared in constant time (on
// SHA-256 digests, which have equal lengths whatever was sent) and never
// logged (the logger redacts the Authorization header).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';
import { ApiError } from '../../api-error.ts';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    requireToken: onRequestAsyncHookHandler;
    requireReadToken: onRequestAsyncHookHandler;
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const challenge = { 'www-authenticate': 'Bearer realm="dlq-service"' };

/** The bearer token sent, or undefined when there is no well-formed Authorization header. */
const bearerOf = (header: string | undefined) => (header === undefined ? undefined : BEARER.exec(header)?.[1]);
const matches = (sent: string, expected: Buffer) => timingSafeEqual(digest(sent), expected);

export default fp<{ token: string | undefined; readToken: string | undefined }>(async function auth(
  app,
  { token, readToken },
) {
  const expected = token ? digest(token) : undefined;
  const expectedRead = readToken ? digest(readToken) : undefined;
  const requireReadToken: onRequestAsyncHookHandler = async (request) => {
    if (expectedRead === undefined) return;
    const sent = bearerOf(request.headers.authorization);
    if (request.headers.authorization === undefined) {
      throw new ApiError(
        401,
        'reading needs "Authorization: Bearer <DLQ_READ_TOKEN>" (dead letters can hold personal data)',
        'READ_TOKEN_MISSING',
        challenge,
      );
    }
    const accepted = [expectedRead, expected].some(
      (one) => one !== undefined && sent !== undefined && matches(sent, one),
    );
    if (!accepted) throw new ApiError(401, 'the bearer token is not DLQ_READ_TOKEN', 'READ_TOKEN_WRONG', challenge);
  };
  const requireToken: onRequestAsyncHookHandler = async (request) => {
    if (expected === undefined) {
      throw new ApiError(
        403,
        'replay is disabled: this service is read-only because DLQ_API_TOKEN is not set. Start it with ' +
          'DLQ_API_TOKEN=<a secret of 16+ characters> and send "Authorization: Bearer <that secret>"',
        'READ_ONLY',
      );
    }
    const header = request.headers.authorization;
    if (header === undefined)
      throw new ApiError(401, 'this route needs "Authorization: Bearer <DLQ_API_TOKEN>"', 'TOKEN_MISSING', challenge);
    const sent = bearerOf(header);
    if (sent === undefined || !matches(sent, expected)) {
      throw new ApiError(401, 'the bearer token is not DLQ_API_TOKEN', 'TOKEN_WRONG', challenge);
    }
  };
  app.decorate('requireToken', requireToken);
  app.decorate('requireReadToken', requireReadToken);
});
