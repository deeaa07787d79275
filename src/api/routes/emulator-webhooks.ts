import type { FastifyPluginAsync } from 'fastify';
import type { NewWebhook, Webhooks, WebhookView } from '../../webhooks/webhooks.js';
import { itemsOf } from '../schemas.js';
import { collectionRoutes, stringIdParam } from './emulator-collection.js';

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

/** `/emulator/webhooks`: URLs that get each command transition (and telemetry) POSTed, signed. */
export const emulatorWebhookRoutes: FastifyPluginAsync<{ webhooks: Webhooks }> = async (app, { webhooks }) => {
  collectionRoutes<WebhookView, NewWebhook>(app, {
    path: '/emulator/webhooks',
    summary: {
      list: 'Registered webhooks with their delivery counts',
      add: 'Register a webhook: {url, secret?, events?: [command, telemetry], maxAttempts?}',
      get: 'One webhook',
      remove: 'Remove a webhook and its queue',
    },
    view: webhookSchema,
    body: newWebhook,
    list: webhooks.list,
    add: webhooks.add,
    get: webhooks.get,
    remove: webhooks.remove,
  });
  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    '/emulator/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['emulator'],
        summary: "A webhook's deliveries, newest first, with their attempts",
        params: stringIdParam,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
        response: { 200: itemsOf(deliverySchema) },
      },
    },
    async (req) => ({ items: webhooks.deliveries(req.params.id, req.query.limit ?? 100) }),
  );
};
