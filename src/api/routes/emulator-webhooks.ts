import type { FastifyPluginAsync } from 'fastify';
import type { NewWebhook, Webhooks } from '../../webhooks/webhooks.js';

const webhookSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    secret: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    maxAttempts: { type: 'integer' },
    timeCreated: { type: 'string' },
    pending: { type: 'integer' },
    delivered: { type: 'integer' },
    failed: { type: 'integer' },
  },
} as const;

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    webhookId: { type: 'string' },
    event: { type: 'string' },
    status: { type: 'string' },
    attempts: { type: 'integer' },
    lastStatus: { type: ['integer', 'null'] },
    lastError: { type: ['string', 'null'] },
    timeCreated: { type: 'string' },
    timeLastAttempt: { type: ['string', 'null'] },
    timeFinished: { type: ['string', 'null'] },
    timeNextAttempt: { type: ['string', 'null'] },
  },
} as const;

const newWebhook = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', minLength: 1, maxLength: 2048 },
    secret: { type: 'string', maxLength: 256 },
    events: { type: 'array', maxItems: 2, items: { type: 'string', enum: ['command', 'telemetry'] } },
    maxAttempts: { type: 'integer' },
  },
} as const;

const idParam = { type: 'object', properties: { id: { type: 'string', minLength: 1 } }, required: ['id'] } as const;

/** `/emulator/webhooks`: URLs that get each command transition (and telemetry) POSTed, signed. */
export const emulatorWebhookRoutes: FastifyPluginAsync<{ webhooks: Webhooks }> = async (app, { webhooks }) => {
  app.get(
    '/emulator/webhooks',
    { schema: { tags: ['emulator'], summary: 'Registered webhooks with their delivery counts', response: { 200: { type: 'object', properties: { items: { type: 'array', items: webhookSchema } } } } } },
    async () => ({ items: webhooks.list() }),
  );
  app.post<{ Body: NewWebhook }>(
    '/emulator/webhooks',
    {
      schema: {
        tags: ['emulator'],
        summary: 'Register a webhook: {url, secret?, events?: [command, telemetry], maxAttempts?}',
        body: newWebhook,
        response: { 200: webhookSchema },
      },
    },
    async (req) => webhooks.add(req.body),
  );
  app.get<{ Params: { id: string } }>(
    '/emulator/webhooks/:id',
    { schema: { tags: ['emulator'], summary: 'One webhook', params: idParam, response: { 200: webhookSchema } } },
    async (req) => webhooks.get(req.params.id),
  );
  app.delete<{ Params: { id: string } }>(
    '/emulator/webhooks/:id',
    { schema: { tags: ['emulator'], summary: 'Remove a webhook and its queue', params: idParam } },
    async (req, reply) => {
      webhooks.remove(req.params.id);
      return reply.status(204).send();
    },
  );
  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    '/emulator/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['emulator'],
        summary: "A webhook's deliveries, newest first, with their attempts",
        params: idParam,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: deliverySchema } } } },
      },
    },
    async (req) => ({ items: webhooks.deliveries(req.params.id, req.query.limit ?? 100) }),
  );
};
