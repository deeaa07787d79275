import type { FastifyPluginAsync } from 'fastify';
import type { VirtualDeviceConfig, VirtualDevices, VirtualDeviceView } from '../../virtual-devices/virtual-devices.js';
import type { Webhooks } from '../../webhooks/webhooks.js';
import { eventStreams } from '../event-streams.js';
import { itemsOf } from '../schemas.js';
import { collectionRoutes, stringIdParam } from './emulator-collection.js';

const generator = { type: 'object', additionalProperties: true, properties: { kind: { type: 'string' } }, required: ['kind'] } as const;

const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    instanceId: { type: 'string', minLength: 1, maxLength: 255 },
    endpoints: { type: 'array', maxItems: 20, items: { type: 'string' } },
    qos: { type: 'integer', enum: [0, 1] },
    response: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: ['echo', 'json', 'jq'] }, value: {}, expression: { type: 'string', maxLength: 4096 } },
          required: ['kind'],
        },
      ],
    },
    responseDelay: { type: 'string', maxLength: 40 },
    responseEndpoint: { type: 'string', maxLength: 1024 },
    telemetry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        endpoint: { type: 'string', maxLength: 1024 },
        every: { type: 'string', maxLength: 40 },
        values: { type: 'object', maxProperties: 50, additionalProperties: generator },
      },
      required: ['endpoint', 'every'],
    },
  },
  required: ['instanceId'],
} as const;

const viewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    instanceId: { type: 'string' },
    displayName: { type: ['string', 'null'] },
    running: { type: 'boolean' },
    connected: { type: 'boolean' },
    config: { type: 'object', additionalProperties: true },
    commandsReceived: { type: 'integer' },
    responsesSent: { type: 'integer' },
    telemetrySent: { type: 'integer' },
    timeCreated: { type: 'string' },
    timeUpdated: { type: 'string' },
  },
} as const;

const trafficSchema = {
  type: 'object',
  properties: {
    virtualDeviceId: { type: 'string' },
    instanceId: { type: 'string' },
    time: { type: 'string' },
    kind: { type: 'string' },
    topic: { type: 'string' },
    payload: { type: 'string' },
    message: { type: 'string' },
  },
} as const;


/**
 * `/emulator/virtual-devices`: devices the emulator hosts, and `/emulator/control/events`,
 * a server-sent stream of their traffic and of webhook attempts, for the console.
 */
export const emulatorVirtualDeviceRoutes: FastifyPluginAsync<{ virtualDevices: VirtualDevices; webhooks: Webhooks }> = async (app, { virtualDevices, webhooks }) => {
  collectionRoutes<VirtualDeviceView, VirtualDeviceConfig>(app, {
    path: '/emulator/virtual-devices',
    summary: {
      list: 'Virtual devices, running or stopped',
      add: 'Add a virtual device to an instance and start it: endpoints, response template and delay, telemetry generators',
      get: 'One virtual device',
      remove: 'Stop and remove a virtual device',
    },
    view: viewSchema,
    body: configSchema,
    list: virtualDevices.list,
    add: virtualDevices.create,
    get: virtualDevices.get,
    remove: virtualDevices.remove,
  });
  app.post<{ Params: { id: string } }>(
    '/emulator/virtual-devices/:id/start',
    { schema: { tags: ['emulator'], summary: 'Start a stopped virtual device', params: stringIdParam, response: { 200: viewSchema } } },
    async (req) => virtualDevices.start(req.params.id),
  );
  app.post<{ Params: { id: string } }>(
    '/emulator/virtual-devices/:id/stop',
    { schema: { tags: ['emulator'], summary: 'Stop a virtual device (it stays stopped across restarts)', params: stringIdParam, response: { 200: viewSchema } } },
    async (req) => virtualDevices.stop(req.params.id),
  );
  app.get<{ Params: { id: string } }>(
    '/emulator/virtual-devices/:id/traffic',
    { schema: { tags: ['emulator'], summary: "A virtual device's recent traffic, oldest first", params: stringIdParam, response: { 200: itemsOf(trafficSchema) } } },
    async (req) => ({ items: virtualDevices.traffic(req.params.id) }),
  );

  const stream = eventStreams(app);
  app.get('/emulator/control/events', { schema: { hide: true } }, (req, reply) => {
    const res = stream(req, reply);
    const send = (event: string, data: unknown) => void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const stopTraffic = virtualDevices.onTraffic((e) => send('traffic', e));
    const stopAttempts = webhooks.onAttempt((a) => send('webhook-attempt', a));
    res.on('close', () => {
      stopTraffic();
      stopAttempts();
    });
  });
};
