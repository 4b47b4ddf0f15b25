// Bearer-token check for the routes that change something. Without a
// configured DLQ_API_TOKEN they answer 403 and say how to enable them; a
// missing or wrong token is 401. The token is compared in constant time (on
// SHA-256 digests, which have equal lengths whatever was sent) and never
// logged (the logger redacts the Authorization header).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';
import { ApiError } from '../../api-error.ts';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    requireToken: onRequestAsyncHookHandler;
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const challenge = { 'www-authenticate': 'Bearer realm="dlq-service"' };

export default fp<{ token: string | undefined }>(async function auth(app, { token }) {
  const expected = token ? digest(token) : undefined;
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
    const sent = BEARER.exec(header)?.[1];
    if (sent === undefined || !timingSafeEqual(digest(sent), expected)) {
      throw new ApiError(401, 'the bearer token is not DLQ_API_TOKEN', 'TOKEN_WRONG', challenge);
    }
  };
  app.decorate('requireToken', requireToken);
});
