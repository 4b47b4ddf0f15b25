// The dashboard: static files under public/, served at / by the service itself.
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';

export default fp(async function dashboardFiles(app) {
  // One route per file instead of a wildcard, so any other path stays the API's 404.
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('../../public/', import.meta.url)),
    prefix: '/',
    wildcard: false,
  });
});
