import type { FastifyPluginAsync } from 'fastify';
import { iso } from '../../clock/clock.js';
import { missing, notFound } from '../../errors.js';

const isTenancy = (id: string) => id.startsWith('ocid1.tenancy.');
const tags = { freeformTags: {}, definedTags: {} };

/** A readable name for a compartment the emulator only knows by OCID: the OCID's last part. */
const nameOf = (id: string) => id.slice(id.lastIndexOf('.') + 1) || id;

const listQuery = {
  type: 'object',
  required: ['compartmentId'],
  properties: {
    compartmentId: { type: 'string', minLength: 1 },
    page: { type: 'string', pattern: '^[0-9]+$' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    accessLevel: { type: 'string', enum: ['ANY', 'ACCESSIBLE'] },
    compartmentIdInSubtree: { type: 'boolean' },
    name: { type: 'string' },
    sortBy: { type: 'string', enum: ['TIMECREATED', 'NAME'] },
    sortOrder: { type: 'string', enum: ['ASC', 'DESC'] },
    lifecycleState: { type: 'string' },
  },
} as const;

/**
 * A minimal Identity API (`/20160918`): the tenancy and the compartments the emulator has
 * seen resources in, so tools that list compartments before they list IoT domains (the OCI
 * IoT MCP server's `list_compartments`) have something to call. The emulator has no
 * tenancy of its own: any tenancy OCID is answered, its children being every compartment seen.
 */
export const identityRoutes: FastifyPluginAsync = async (app) => {
  const { store, clock } = app.emu;
  const since = () => store.compartments.seen().reduce((t, c) => (c.time_created < t ? c.time_created : t), iso(clock.now()));
  const compartment = (id: string, parent: string, timeCreated: string) => ({
    id,
    compartmentId: parent,
    name: id === 'ocid1.compartment.oc1..emulator' ? 'emulator' : nameOf(id),
    description: 'A compartment the emulator has seen resources in',
    timeCreated,
    lifecycleState: 'ACTIVE',
    isAccessible: true,
    ...tags,
  });

  app.get<{ Params: { tenancyId: string } }>('/20160918/tenancies/:tenancyId', async (req) => {
    if (!isTenancy(req.params.tenancyId)) throw notFound('Tenancy', req.params.tenancyId);
    return { id: req.params.tenancyId, name: 'oci-iot-emulator', description: 'The emulator answers for any tenancy', ...tags };
  });

  app.get<{ Params: { compartmentId: string } }>('/20160918/compartments/:compartmentId', async (req) => {
    const id = req.params.compartmentId;
    if (isTenancy(id)) return { ...compartment(id, id, since()), name: 'oci-iot-emulator', description: 'The root compartment (tenancy)' };
    const seen = store.compartments.seen().find((c) => c.id === id);
    if (!seen) throw notFound('Compartment', id);
    return compartment(id, 'ocid1.tenancy.oc1..emulator', seen.time_created);
  });

  app.get<{ Querystring: { compartmentId: string; page?: string; limit?: number; name?: string; sortBy?: string; sortOrder?: string; lifecycleState?: string } }>(
    '/20160918/compartments',
    { schema: { querystring: listQuery } },
    async (req, reply) => {
      const { compartmentId: parent, name, lifecycleState } = req.query;
      if (!parent) throw missing('compartmentId is required');
      const seen = store.compartments.seen();
      if (!isTenancy(parent) && !seen.some((c) => c.id === parent)) throw notFound('Compartment', parent);
      // Compartments seen are all children of the tenancy; none has children of its own.
      let items = isTenancy(parent) ? seen.map((c) => compartment(c.id, parent, c.time_created)) : [];
      if (name !== undefined) items = items.filter((c) => c.name === name);
      if (lifecycleState !== undefined) items = items.filter((c) => c.lifecycleState === lifecycleState);
      const key = req.query.sortBy === 'NAME' ? 'name' : 'timeCreated';
      items.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0) * (req.query.sortOrder === 'DESC' ? -1 : 1));
      const offset = Number(req.query.page ?? 0);
      const limit = req.query.limit ?? 100;
      const page = items.slice(offset, offset + limit);
      if (offset + limit < items.length) void reply.header('opc-next-page', String(offset + limit));
      return page;
    },
  );
};
