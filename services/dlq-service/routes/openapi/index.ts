// /openapi.json: the OpenAPI 3.1 document @fastify/swagger builds from the routes' schemas.
import type { FastifyInstance } from 'fastify';

export default async function openApiRoutes(app: FastifyInstance) {
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This API as an OpenAPI 3.1 document',
        tags: ['ops'],
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => app.swagger(),
  );
}
