import type { FastifyInstance } from 'fastify';
import { itemsOf } from '../schemas.js';

/** The `:id` of an /emulator collection's member (virtual devices and webhooks have string ids). */
export const stringIdParam = { type: 'object', properties: { id: { type: 'string', minLength: 1 } }, required: ['id'] } as const;

/**
 * The four routes an /emulator collection of test-control things shares: list, add (the
 * body validated, the view answered), one by id, and remove (204). What differs is the
 * path, the summaries, the schemas and the functions behind them.
 */
export function collectionRoutes<View, New>(
  app: FastifyInstance,
  c: {
    path: string;
    summary: { list: string; add: string; get: string; remove: string };
    view: object;
    body: object;
    list(): View[];
    add(body: New): View | Promise<View>;
    get(id: string): View;
    remove(id: string): unknown;
  },
): void {
  app.get(c.path, { schema: { tags: ['emulator'], summary: c.summary.list, response: { 200: itemsOf(c.view) } } }, async () => ({ items: c.list() }));
  app.post<{ Body: New }>(
    c.path,
    { schema: { tags: ['emulator'], summary: c.summary.add, body: c.body, response: { 200: c.view } } },
    async (req) => c.add(req.body as New),
  );
  app.get<{ Params: { id: string } }>(
    `${c.path}/:id`,
    { schema: { tags: ['emulator'], summary: c.summary.get, params: stringIdParam, response: { 200: c.view } } },
    async (req) => c.get(req.params.id),
  );
  app.delete<{ Params: { id: string } }>(
    `${c.path}/:id`,
    { schema: { tags: ['emulator'], summary: c.summary.remove, params: stringIdParam } },
    async (req, reply) => {
      await c.remove(req.params.id);
      return reply.status(204).send();
    },
  );
}
