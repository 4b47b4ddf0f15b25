// uPlot, the dashboard's charts, served by the service itself from its npm
// package (no CDN: the content security policy allows only this origin).
// Each file is read once, at start.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import fp from 'fastify-plugin';

const FILES = [
  { url: '/vendor/uPlot.esm.js', file: 'uplot/dist/uPlot.esm.js', type: 'text/javascript; charset=utf-8' },
  { url: '/vendor/uPlot.min.css', file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
];

export default fp(async function chartLibrary(app) {
  const require = createRequire(import.meta.url);
  for (const { url, file, type } of FILES) {
    const body = await readFile(require.resolve(file));
    app.get(url, { schema: { hide: true } }, async (_request, reply) => reply.type(type).send(body));
  }
});
