import type { FastifyPluginAsync } from 'fastify';
import { idParam, itemsOf, workRequest, workRequestError, workRequestLogEntry } from '../schemas.js';
import { workRequestBody } from '../serialize.js';
import { pageHeaders, pageOffset } from './domains.js';

const listQuery = {
  type: 'object',
  required: ['compartmentId'],
  properties: {
    compartmentId: { type: 'string', minLength: 1 },
    id: { type: 'string' },
    status: { type: 'string', enum: ['ACCEPTED', 'IN_PROGRESS', 'WAITING', 'NEEDS_ATTENTION', 'FAILED', 'SUCCEEDED'] },
    resourceId: { type: 'string' },
    page: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    sortOrder: { type: 'string', enum: ['ASC', 'DESC'] },
    sortBy: { type: 'string', enum: ['timeAccepted'] },
  },
} as const;

const entriesQuery = {
  type: 'object',
  properties: {
    page: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    sortBy: { type: 'string', enum: ['timeCreated'] },
    sortOrder: { type: 'string', enum: ['ASC', 'DESC'] },
  },
} as const;

type EntriesQuery = { page?: string; limit?: number; sortOrder?: 'ASC' | 'DESC' };
const params = idParam('workRequestId');

/** GetWorkRequest, ListWorkRequests, ListWorkRequestErrors, ListWorkRequestLogs. */
export const workRequestRoutes: FastifyPluginAsync = async (app) => {
  const { control } = app.emu;

  app.get<{ Params: { workRequestId: string } }>(
    '/20250531/workRequests/:workRequestId',
    { schema: { params, response: { 200: workRequest } } },
    async (req, reply) => {
      const wr = control.workRequest(req.params.workRequestId);
      // Pollers (the oci CLI, the SDK waiters) may honour it; half a step is a fair wait.
      if (wr.next_step_ms !== null) void reply.header('retry-after', '1');
      return workRequestBody(wr);
    },
  );

  app.get<{ Querystring: { compartmentId: string; id?: string; status?: string; resourceId?: string; page?: string; limit?: number; sortOrder?: 'ASC' | 'DESC' } }>(
    '/20250531/workRequests',
    { schema: { querystring: listQuery, response: { 200: itemsOf(workRequest) } } },
    async (req, reply) => {
      const q = req.query;
      const offset = pageOffset(q.page);
      const limit = q.limit ?? 100;
      const { rows, more } = control.store.listWorkRequests({
        compartments: control.visibleFrom(q.compartmentId),
        id: q.id,
        status: q.status,
        resourceId: q.resourceId,
        // Newest first unless asked otherwise, as OCI lists work requests.
        sortOrder: q.sortOrder ?? 'DESC',
        offset,
        limit,
      });
      pageHeaders(reply, offset, limit, more);
      return { items: rows.map(workRequestBody) };
    },
  );

  const entries = (kind: 'log' | 'error', path: string, item: object) =>
    app.get<{ Params: { workRequestId: string }; Querystring: EntriesQuery }>(
      `/20250531/workRequests/:workRequestId/${path}`,
      { schema: { params, querystring: entriesQuery, response: { 200: itemsOf(item) } } },
      async (req, reply) => {
        const wr = control.workRequest(req.params.workRequestId);
        const offset = pageOffset(req.query.page);
        const limit = req.query.limit ?? 100;
        const { rows, more } = control.store.entries(wr.id, kind, req.query.sortOrder ?? 'ASC', offset, limit);
        pageHeaders(reply, offset, limit, more);
        return { items: rows.map((e) => (kind === 'error' ? { code: e.code, message: e.message, timestamp: e.timestamp } : { message: e.message, timestamp: e.timestamp })) };
      },
    );
  entries('log', 'logs', workRequestLogEntry);
  entries('error', 'errors', workRequestError);
};
