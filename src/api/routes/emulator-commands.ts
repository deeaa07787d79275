import type { FastifyPluginAsync } from 'fastify';
import { OciError } from '../../errors.js';
import { commandViews } from '../../views/commands.js';
import { itemsOf } from '../schemas.js';

const nullable = { type: ['string', 'null'] } as const;
export const commandViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    instanceId: { type: 'string' },
    displayName: nullable,
    deliveryStatus: { type: 'string' },
    trail: { type: 'array', items: { type: 'string' } },
    cause: nullable,
    requestEndpoint: { type: 'string' },
    requestDataFormat: { type: 'string' },
    requestData: nullable,
    requestDuration: { type: 'string' },
    responseEndpoint: nullable,
    responseDuration: nullable,
    responseDataFormat: nullable,
    responseData: nullable,
    createdBy: { type: 'string' },
    clientId: nullable,
    qos: { type: ['integer', 'null'] },
    timeCreated: { type: 'string' },
    timeSent: nullable,
    timeAcknowledged: nullable,
    timeFinished: nullable,
  },
} as const;

/** Commands with their delivery history, newest first: the console's commands table. */
export const emulatorCommandRoutes: FastifyPluginAsync = async (app) => {
  const views = commandViews(app.emu.store);

  app.get<{ Querystring: { limit?: number } }>(
    '/emulator/commands',
    {
      schema: {
        tags: ['emulator'],
        summary: 'The most recent commands, newest first, with their state history and timings',
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
        response: { 200: itemsOf(commandViewSchema) },
      },
    },
    async (req) => ({ items: views.recent(req.query.limit ?? 100) }),
  );

  app.get<{ Params: { id: number } }>(
    '/emulator/commands/:id',
    {
      schema: {
        tags: ['emulator'],
        summary: 'One command (the id is the last segment of invokeRawCommand\'s Location)',
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
        response: { 200: commandViewSchema },
      },
    },
    async (req) => {
      const view = views.byId(req.params.id);
      if (!view) throw new OciError(404, 'NotAuthorizedOrNotFound', `Command ${req.params.id} not found`);
      return view;
    },
  );
};
