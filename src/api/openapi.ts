import Fastify, { type FastifyInstance, type FastifyPluginAsync, type RouteOptions } from 'fastify';
import { lazySchemaCompilers } from './lazy-schemas.js';

/** OCI's API families, named as in the OCI API reference, so the description reads like it. */
const TAGS: Array<{ prefix: string; name: string; description: string }> = [
  { prefix: '/20250531/', name: 'IoT', description: 'OCI IoT Platform control plane (API version 20250531)' },
  { prefix: '/20180608/', name: 'Vault', description: 'OCI Vault: the secrets that hold device passwords' },
  { prefix: '/20190301/', name: 'Secrets', description: 'OCI Secrets: reading a secret back (secret bundles)' },
  { prefix: '/ords/', name: 'IoT Data API', description: 'ORDS-style read side: rawCommandData and rawData' },
  { prefix: '/emulator/', name: 'emulator', description: 'The emulator\'s own operations (not part of OCI)' },
];

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI description of every route, made at its first call. */
    openApi(): Promise<unknown>;
  }
}

/**
 * Collects every route registered after it for an OpenAPI 3.1 description; the route
 * schemas are the single source, so the description cannot drift from what is validated.
 * @fastify/swagger (with its YAML and $ref libraries) makes the description at the first
 * request for it, over a copy of the routes in a Fastify of its own: loading and registering
 * it at start-up cost a test suite's every emulator, and few read /docs.
 */
export function registerOpenApi(app: FastifyInstance, version: string): void {
  const routes: RouteOptions[] = [];
  // The API has no HEAD routes to leave out: HEAD is answered as GET (head-requests.ts).
  app.addHook('onRoute', (route) => void routes.push(route));
  let described: Promise<unknown> | undefined;
  app.decorate('openApi', () => (described ??= describe(routes, version)));
}

async function describe(routes: RouteOptions[], version: string): Promise<unknown> {
  const { default: swagger } = await import('@fastify/swagger');
  // Routes are only listed here: no schema is ever compiled, no request served.
  const copy = Fastify({ exposeHeadRoutes: false, schemaController: { compilersFactory: lazySchemaCompilers } });
  await copy.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'oci-iot-emulator',
        version,
        description: 'A local emulator of the OCI IoT Platform raw-command flow. OCI operations keep their OCI paths; point an OCI SDK or the oci CLI at this server.',
      },
      tags: TAGS.map(({ name, description }) => ({ name, description })),
    },
    transform({ schema, url }) {
      const tag = TAGS.find((t) => url.startsWith(t.prefix))?.name;
      const given = (schema ?? {}) as Record<string, unknown>;
      return { schema: (given.tags || !tag ? given : { ...given, tags: [tag] }) as never, url };
    },
  });
  for (const { method, url, schema, config } of routes) copy.route({ method, url, schema, config, handler: async () => null });
  await copy.ready();
  const spec = copy.swagger();
  await copy.close();
  return spec;
}

/** `/docs/json` is the description; `/docs` a plain page listing every operation, no scripts. */
export const docsRoutes: FastifyPluginAsync = async (app) => {
  app.get('/docs/json', { schema: { hide: true } }, async () => app.openApi());
  app.get('/docs', { schema: { hide: true } }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(docsPage((await app.openApi()) as OpenApi)));
};

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApi {
  info: { title: string; version: string; description?: string };
  tags?: Array<{ name: string; description?: string }>;
  paths?: Record<string, Record<string, Operation>>;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const json = (v: unknown) => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;

function docsPage(spec: OpenApi): string {
  const ops = Object.entries(spec.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );
  const sections = (spec.tags ?? []).map((tag) => {
    const mine = ops.filter((o) => o.op.tags?.includes(tag.name));
    if (mine.length === 0) return '';
    return `<h2>${esc(tag.name)}</h2><p>${esc(tag.description ?? '')}</p>${mine.map(operation).join('')}`;
  });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(spec.info.title)} REST API</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}summary{cursor:pointer}
code.m{display:inline-block;min-width:4.5rem;font-weight:700}pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:12px}</style></head>
<body><h1>${esc(spec.info.title)} REST API <small>${esc(spec.info.version)}</small></h1><p>${esc(spec.info.description ?? '')}</p>
<p>Machine-readable: <a href="/docs/json">/docs/json</a> (OpenAPI 3.1).</p>${sections.join('')}</body></html>`;
}

function operation({ path, method, op }: { path: string; method: string; op: Operation }): string {
  const params = op.parameters?.length ? `<h4>Parameters</h4>${json(op.parameters.map((p) => ({ name: p.name, in: p.in, required: p.required ?? false, schema: p.schema })))}` : '';
  const body = op.requestBody?.content ? `<h4>Request body</h4>${json(Object.values(op.requestBody.content)[0]?.schema)}` : '';
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => `<h4>${esc(status)}</h4>${r.content ? json(Object.values(r.content)[0]?.schema) : `<p>${esc(r.description ?? '')}</p>`}`)
    .join('');
  return `<details><summary><code class="m">${method}</code> <code>${esc(path)}</code> ${esc(op.summary ?? '')}</summary>${params}${body}${responses}</details>`;
}
