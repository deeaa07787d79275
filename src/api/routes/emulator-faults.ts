import type { FastifyPluginAsync } from 'fastify';
import type { FaultControl, FaultSpec } from '../../faults/faults.js';
import { itemsOf } from '../schemas.js';

export const faultViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    scope: { type: 'string', enum: ['device', 'api'] },
    instanceId: { type: 'string' },
    operation: { type: 'string' },
    kind: { type: 'string' },
    remaining: { type: ['integer', 'null'] },
    considered: { type: 'integer' },
    applied: { type: 'integer' },
    active: { type: 'boolean' },
    fraction: { type: 'number' },
    delay: { type: 'string' },
    afterCommands: { type: 'integer' },
    returnCode: { type: 'integer' },
    retryAfter: { type: 'integer' },
    when: { type: 'string' },
    timeCreated: { type: 'string' },
    timeCleared: { type: ['string', 'null'] },
  },
} as const;

const faultBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    instanceId: { type: 'string', minLength: 1, maxLength: 255 },
    operation: { type: 'string', minLength: 1, maxLength: 100 },
    kind: { type: 'string', minLength: 1, maxLength: 40 },
    count: { type: 'integer' },
    fraction: { type: 'number' },
    delay: { type: 'string', maxLength: 40 },
    afterCommands: { type: 'integer' },
    returnCode: { type: 'integer' },
    retryAfter: { type: 'integer' },
    when: { type: 'string', enum: ['before', 'after'] },
  },
  required: ['kind'],
} as const;

const items = itemsOf(faultViewSchema);
const idParam = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } as const;

/** `/emulator/faults`: device and API faults, set and cleared while the emulator runs. */
export const emulatorFaultRoutes: FastifyPluginAsync<{ faults: FaultControl }> = async (app, { faults }) => {
  app.get('/emulator/faults', { schema: { tags: ['emulator'], summary: 'Every fault set since start, in force or not, with what it did', response: { 200: items } } }, async () => ({
    items: faults.list(),
  }));

  app.get('/emulator/faults/operations', { schema: { tags: ['emulator'], summary: 'The OCI operation names an API fault may name', response: { 200: itemsOf({ type: 'string' }) } } }, async () => ({
    items: faults.operations(),
  }));

  app.post<{ Body: FaultSpec }>(
    '/emulator/faults',
    {
      schema: {
        tags: ['emulator'],
        summary: 'Set a device fault (instanceId + kind) or an API fault (operation + kind)',
        body: faultBody,
        response: { 200: faultViewSchema },
      },
    },
    async (req) => faults.set(req.body),
  );

  app.get<{ Params: { id: number } }>(
    '/emulator/faults/:id',
    { schema: { tags: ['emulator'], summary: 'One fault', params: idParam, response: { 200: faultViewSchema } } },
    async (req) => faults.get(req.params.id),
  );

  app.delete<{ Params: { id: number } }>(
    '/emulator/faults/:id',
    { schema: { tags: ['emulator'], summary: 'Clear one fault', params: idParam, response: { 200: items } } },
    async (req) => ({ items: faults.clear({ id: req.params.id }) }),
  );

  app.delete<{ Querystring: { instanceId?: string; operation?: string } }>(
    '/emulator/faults',
    {
      schema: {
        tags: ['emulator'],
        summary: 'Clear every fault in force, or those of one instance or operation',
        querystring: { type: 'object', additionalProperties: false, properties: { instanceId: { type: 'string' }, operation: { type: 'string' } } },
        response: { 200: items },
      },
    },
    async (req) => ({ items: faults.clear(req.query) }),
  );
};
