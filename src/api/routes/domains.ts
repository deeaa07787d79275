import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../errors.js';
import { idParam, iotDomain, iotDomainGroup, iotDomainGroupSummary, iotDomainSummary } from '../schemas.js';
import { domainBody, domainGroupBody } from '../serialize.js';

const listQuery = {
  type: 'object',
  required: ['compartmentId'],
  properties: {
    compartmentId: { type: 'string', minLength: 1 },
    id: { type: 'string' },
    iotDomainGroupId: { type: 'string' },
    displayName: { type: 'string' },
    lifecycleState: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    page: { type: 'string' },
    sortOrder: { type: 'string', enum: ['ASC', 'DESC'] },
    sortBy: { type: 'string', enum: ['timeCreated', 'displayName'] },
  },
} as const;

type ListQuery = { id?: string; iotDomainGroupId?: string; displayName?: string; lifecycleState?: string };

/**
 * The emulator is single-tenant: its one domain group and domain are listed for any
 * compartmentId, so code written for a real compartment finds them unchanged.
 */
export const domainRoutes: FastifyPluginAsync = async (app) => {
  const { store } = app.emu;

  app.get<{ Params: { iotDomainId: string } }>(
    '/20250531/iotDomains/:iotDomainId',
    { schema: { params: idParam('iotDomainId'), response: { 200: iotDomain } } },
    async (req, reply) => {
      const row = store.domains.get(req.params.iotDomainId);
      if (!row) throw notFound('IoT domain', req.params.iotDomainId);
      void reply.header('etag', row.time_updated);
      return domainBody(row);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/20250531/iotDomains',
    { schema: { querystring: listQuery, response: { 200: { type: 'object', properties: { items: { type: 'array', items: iotDomainSummary } } } } } },
    async (req) => {
      const q = req.query;
      const items = store.domains.list().filter(
        (d) =>
          (q.id === undefined || d.id === q.id) &&
          (q.iotDomainGroupId === undefined || d.iot_domain_group_id === q.iotDomainGroupId) &&
          (q.displayName === undefined || d.display_name === q.displayName) &&
          (q.lifecycleState === undefined || d.lifecycle_state === q.lifecycleState),
      );
      return { items: items.map(domainBody) };
    },
  );

  app.get<{ Params: { iotDomainGroupId: string } }>(
    '/20250531/iotDomainGroups/:iotDomainGroupId',
    { schema: { params: idParam('iotDomainGroupId'), response: { 200: iotDomainGroup } } },
    async (req, reply) => {
      const row = store.domains.group(req.params.iotDomainGroupId);
      if (!row) throw notFound('IoT domain group', req.params.iotDomainGroupId);
      void reply.header('etag', row.time_updated);
      return domainGroupBody(row);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/20250531/iotDomainGroups',
    { schema: { querystring: listQuery, response: { 200: { type: 'object', properties: { items: { type: 'array', items: iotDomainGroupSummary } } } } } },
    async (req) => {
      const q = req.query;
      const items = store.domains.groups().filter(
        (g) =>
          (q.id === undefined || g.id === q.id) &&
          (q.displayName === undefined || g.display_name === q.displayName) &&
          (q.lifecycleState === undefined || g.lifecycle_state === q.lifecycleState),
      );
      return { items: items.map(domainGroupBody) };
    },
  );
};
