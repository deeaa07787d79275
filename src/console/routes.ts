import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** The console is a few static files: no build step, no CDN, nothing fetched from outside. */
const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'control.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;

type Asset = keyof typeof ASSETS;

// Beside this module both in src/ (tsx, tests) and in dist/ (the build copies them).
const read = (name: Asset) => readFileSync(new URL(`./public/${name}`, import.meta.url));

/** uPlot (a small, well-kept chart library) is served from node_modules: no CDN. */
const resolveVendor = createRequire(import.meta.url);
const VENDOR = {
  'uPlot.iife.min.js': ['uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  'uPlot.min.css': ['uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
} as const;

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  // Read at the first visit: most runs (CI, tests) never open the console.
  for (const [name, [path, type]] of Object.entries(VENDOR)) {
    let body: Buffer | undefined;
    app.get(`/console/vendor/${name}`, { schema: { hide: true } }, async (_req, reply) =>
      reply.type(type).header('cache-control', 'max-age=3600').send((body ??= readFileSync(resolveVendor.resolve(path)))),
    );
  }
  let files: Map<Asset, Buffer> | undefined;
  const load = () => new Map((Object.keys(ASSETS) as Asset[]).map((name) => [name, read(name)]));
  const serve = (name: Asset) => async (_req: unknown, reply: FastifyReply) =>
    reply.type(ASSETS[name]).header('cache-control', 'no-cache').send((files ??= load()).get(name));

  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));
  app.get('/console', { schema: { hide: true } }, serve('index.html'));
  app.get('/console/', { schema: { hide: true } }, serve('index.html'));
  app.get('/console/console.js', { schema: { hide: true } }, serve('console.js'));
  app.get('/console/control.js', { schema: { hide: true } }, serve('control.js'));
  app.get('/console/dom.js', { schema: { hide: true } }, serve('dom.js'));
  app.get('/console/console.css', { schema: { hide: true } }, serve('console.css'));
};
