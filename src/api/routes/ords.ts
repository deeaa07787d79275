import type { FastifyPluginAsync } from 'fastify';
import { invalid, notFound, OciError } from '../../errors.js';
import { HISTORIZED_DATA, RAW_COMMAND_DATA, RAW_DATA, REJECTED_DATA, SNAPSHOT_DATA, type OrdsTable } from '../../store/ords-query.js';
import type { OrdsRow } from '../../store/ords.js';

const listQuery = {
  type: 'object',
  properties: {
    q: { type: 'string', maxLength: 8192 },
    limit: { type: 'integer', minimum: 1, maximum: 10000 },
    // Beyond 2^53 a JavaScript number is no longer an exact integer SQLite can take as OFFSET.
    offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  },
} as const;

/** ORDS shows BLOBs as base64 and JSON columns as JSON. */
function present(row: OrdsRow, table: OrdsTable): OrdsRow {
  const out: OrdsRow = {};
  for (const [k, v] of Object.entries(row)) {
    out[k] = Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'string' && table.jsonColumns?.includes(k) ? JSON.parse(v) : v;
  }
  return out;
}

/**
 * The read side OCI exposes on its data host (`/ords/{domainShortId}/20250531/...`):
 * snake_case rows, lists without payloads, `q` filters, limit/offset/hasMore.
 */
export const ordsRoutes: FastifyPluginAsync = async (app) => {
  const { store, config } = app.emu;

  // Every route of this plugin is the data API: with --data-api-auth required, only a token the emulator issued opens it.
  if (config.dataApiAuth === 'required') {
    app.addHook('onRequest', (req, _reply, done) => {
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const refusal = token ? app.oauth.refusal(token) : 'The data API needs a bearer token from the identity domain\'s /oauth2/v1/token (--data-api-auth required)';
      done(refusal ? new OciError(401, 'NotAuthenticated', refusal) : undefined);
    });
  }

  const resource = (path: string, table: OrdsTable) => {
    app.get<{ Params: { shortId: string }; Querystring: { q?: string; limit?: number; offset?: number } }>(
      `/ords/:shortId/20250531/${path}`,
      { schema: { querystring: listQuery } },
      async (req) => {
        const domain = store.controlPlane.domainByShortId(req.params.shortId);
        if (!domain) throw notFound('IoT domain', req.params.shortId);
        const limit = req.query.limit ?? 25;
        const offset = req.query.offset ?? 0;
        const { rows, hasMore } = store.ords.page(table, domain.id, req.query.q, limit, offset);
        const items = rows.map((r) => present(r, table));
        const self = new URL(req.url, `${req.protocol}://${req.headers.host}`);
        // ORDS collection links: generic ORDS clients page by following `next`.
        const at = (o: number) => {
          const u = new URL(self);
          u.searchParams.set('offset', String(o));
          u.searchParams.set('limit', String(limit));
          return u.href;
        };
        const links = [{ rel: 'self', href: self.href }, { rel: 'first', href: at(0) }];
        if (offset > 0) links.push({ rel: 'prev', href: at(Math.max(0, offset - limit)) });
        if (hasMore) links.push({ rel: 'next', href: at(offset + limit) });
        return { items, hasMore, limit, offset, count: items.length, links };
      },
    );

    if (table.noId) return;
    app.get<{ Params: { shortId: string; id: string } }>(`/ords/:shortId/20250531/${path}/:id`, async (req) => {
      const domain = store.controlPlane.domainByShortId(req.params.shortId);
      if (!domain) throw notFound('IoT domain', req.params.shortId);
      if (!/^\d+$/.test(req.params.id)) throw invalid(`${req.params.id} is not a ${path} id`);
      const row = store.ords.row(table, Number(req.params.id), domain.id);
      if (!row) throw notFound(path, req.params.id);
      return { ...present(row, table), links: [{ rel: 'self', href: `${req.protocol}://${req.headers.host}${req.url}` }] };
    });
  };

  resource('rawCommandData', RAW_COMMAND_DATA);
  resource('rawData', RAW_DATA);
  resource('historizedData', HISTORIZED_DATA);
  resource('snapshotData', SNAPSHOT_DATA);
  resource('rejectedData', REJECTED_DATA);
};
