// Bearer-token checks. The routes that change something need DLQ_API_TOKEN:
// without one configured they answer 403 and say how to enable them; a
// missing or wrong token is 401. Alertmanager's webhook (POST /alerts) needs
// DLQ_ALERTS_TOKEN, the same way. The read routes need DLQ_READ_TOKEN (or the
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
    requireAlertsToken: onRequestAsyncHookHandler;
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const challenge = { 'www-authenticate': 'Bearer realm="dlq-service"' };

/** The bearer token sent, or undefined when there is no well-formed Authorization header. */
const bearerOf = (header: string | undefined) => (header === undefined ? undefined : BEARER.exec(header)?.[1]);
const matches = (sent: string, expected: Buffer) => timingSafeEqual(digest(sent), expected);

interface TokenCheck {
  /** The variable that holds the token. */
  name: string;
  token: string | undefined;
  /** The 403 when the variable is not set. */
  unset: { message: string; code: string };
  /** The 401 codes: `<prefix>_MISSING`, `<prefix>_WRONG`. */
  prefix: string;
}

/** A check for a route that needs a token: 403 when none is configured, 401 when it is missing or wrong. */
function tokenCheck({ name, token, unset, prefix }: TokenCheck): onRequestAsyncHookHandler {
  const expected = token ? digest(token) : undefined;
  return async (request) => {
    if (expected === undefined) throw new ApiError(403, unset.message, unset.code);
    const header = request.headers.authorization;
    if (header === undefined)
      throw new ApiError(401, `this route needs "Authorization: Bearer <${name}>"`, `${prefix}_MISSING`, challenge);
    const sent = bearerOf(header);
    if (sent === undefined || !matches(sent, expected)) {
      throw new ApiError(401, `the bearer token is not ${name}`, `${prefix}_WRONG`, challenge);
    }
  };
}

export default fp<{
  token: string | undefined;
  readToken: string | undefined;
  alertsToken: string | undefined;
}>(async function auth(app, { token, readToken, alertsToken }) {
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
  const requireToken = tokenCheck({
    name: 'DLQ_API_TOKEN',
    token,
    unset: {
      message:
        'replay is disabled: this service is read-only because DLQ_API_TOKEN is not set. Start it with ' +
        'DLQ_API_TOKEN=<a secret of 16+ characters> and send "Authorization: Bearer <that secret>"',
      code: 'READ_ONLY',
    },
    prefix: 'TOKEN',
  });
  const requireAlertsToken = tokenCheck({
    name: 'DLQ_ALERTS_TOKEN',
    token: alertsToken,
    unset: {
      message:
        'alerts are not taken: DLQ_ALERTS_TOKEN is not set. Start the service with DLQ_ALERTS_TOKEN=<a secret ' +
        "of 16+ characters> and give Alertmanager's webhook the same token (observability/alertmanager.yml)",
      code: 'ALERTS_DISABLED',
    },
    prefix: 'ALERTS_TOKEN',
  });
  app.decorate('requireToken', requireToken);
  app.decorate('requireReadToken', requireReadToken);
  app.decorate('requireAlertsToken', requireAlertsToken);
});
