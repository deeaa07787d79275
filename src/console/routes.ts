import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** The console is three static files: no build step, no CDN, nothing fetched from outside. */
const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'control.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;

type Asset = keyof typeof ASSETS;

// Beside this module both in src/ (tsx, tests) and in dist/ (the build copies them).
const read = (name: Asset) => readFileSync(new URL(`./public/${name}`, import.meta.url));

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  const files = new Map((Object.keys(ASSETS) as Asset[]).map((name) => [name, read(name)]));
  const serve = (name: Asset) => async (_req: unknown, reply: FastifyReply) =>
    reply.type(ASSETS[name]).header('cache-control', 'no-cache').send(files.get(name));

  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));
  app.get('/console', { schema: { hide: true } }, serve('index.html'));
  app.get('/console/', { schema: { hide: true } }, serve('index.html'));
  app.get('/console/console.js', { schema: { hide: true } }, serve('console.js'));
  app.get('/console/control.js', { schema: { hide: true } }, serve('control.js'));
  app.get('/console/console.css', { schema: { hide: true } }, serve('console.css'));
};
