// The OpenAPI document, generated from the routes' JSON schemas, and Swagger
// UI at /docs (its assets come with the package: no CDN).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

type Document = { paths?: Record<string, Record<string, Operation>> };
type Operation = { requestBody?: { required?: boolean; content?: Record<string, { schema?: { type?: unknown } }> } };

/**
 * @fastify/swagger marks every request body required; a body whose schema
 * also accepts null (POST /dlq/{id}/replay: `force` has a default) may be left
 * out, and the document says so, as the service accepts it.
 */
function optionalBodiesAsOptional<T>(document: T): T {
  for (const operations of Object.values((document as Document).paths ?? {})) {
    for (const { requestBody } of Object.values(operations)) {
      const type = requestBody?.content?.['application/json']?.schema?.type;
      if (requestBody !== undefined && Array.isArray(type) && type.includes('null')) requestBody.required = false;
    }
  }
  return document;
}

export default fp(async function openApi(app) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'kafka-orders DLQ service',
        version: '1.0.0',
        description:
          'Query, inspect and replay the dead letters of the kafka-orders lab. ' +
          'A record id is `<DLQ partition>-<DLQ offset>`. ' +
          'Replay routes need `Authorization: Bearer <DLQ_API_TOKEN>`; ' +
          'without a configured token they answer 403 (read-only). ' +
          'When the service has a DLQ_READ_TOKEN, every read route needs `Authorization: Bearer <DLQ_READ_TOKEN>` ' +
          '(or the API token) and answers 401 without it; unset, reads are open.',
      },
      tags: [
        { name: 'dlq', description: 'dead letters' },
        { name: 'replay', description: 'send dead letters back to their original topic' },
        { name: 'stats', description: 'the running aggregate, and the last hour of it and of the dead letters' },
        { name: 'alerts', description: 'the alerts Alertmanager reports (its webhook), to go from alert to records' },
        { name: 'ops', description: 'health, readiness, metrics, this document' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'DLQ_API_TOKEN' },
          alertsToken: { type: 'http', scheme: 'bearer', description: "DLQ_ALERTS_TOKEN (Alertmanager's webhook)" },
          readToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'DLQ_READ_TOKEN (or DLQ_API_TOKEN), needed only when the service has a read token',
          },
        },
      },
    },
    // Shared schemas keep their $id as their name under components.schemas.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    transformObject: (document) =>
      optionalBodiesAsOptional('openapiObject' in document ? document.openapiObject : document.swaggerObject),
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Swagger UI sets inline styles as it renders; its pages alone may (security-headers.ts sets the policy).
    transformStaticCSP: (header) => header.replace(/style-src [^;]*/, "style-src 'self' 'unsafe-inline'"),
  });
});
