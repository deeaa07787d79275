import { existsSync, readFileSync } from 'node:fs';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** The console is three static files: no build step, no CDN, nothing fetched from outside. */
const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
} as const;

type Asset = keyof typeof ASSETS;

/**
 * The files' folder: beside this module in src/ (tsx, tests) and dist/ (the build copies
 * them); under console/ beside dist/cli.js, into which the build bundles this module.
 */
function publicDir(): URL {
  const dirs = ['./public/', './console/public/'].map((p) => new URL(p, import.meta.url));
  return dirs.find((dir) => existsSync(new URL('index.html', dir))) ?? dirs[0];
}

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  // Read at the first visit: most runs (CI, tests) never open the console.
  let files: Map<Asset, Buffer> | undefined;
  const load = () => {
    const dir = publicDir();
    return new Map((Object.keys(ASSETS) as Asset[]).map((name) => [name, readFileSync(new URL(name, dir))]));
  };
  const serve = (name: Asset) => async (_req: unknown, reply: FastifyReply) =>
    reply.type(ASSETS[name]).header('cache-control', 'no-cache').send((files ??= load()).get(name));

  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));
  app.get('/console', { schema: { hide: true } }, serve('index.html'));
  app.get('/console/', { schema: { hide: true } }, serve('index.html'));
  app.get('/console/console.js', { schema: { hide: true } }, serve('console.js'));
  app.get('/console/console.css', { schema: { hide: true } }, serve('console.css'));
};
