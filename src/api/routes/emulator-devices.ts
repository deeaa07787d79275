import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../errors.js';
import { itemsOf } from '../schemas.js';
import { createDevice, type NewDevice } from '../../resources/devices.js';
import { deviceConnection } from '../../views/connection.js';
import { connectHostOf } from '../../control/hosts.js';
import { deviceView, listDeviceViews } from '../../views/devices.js';

const subscription = { type: 'object', properties: { topic: { type: 'string' }, qos: { type: 'integer' } } } as const;
export const deviceViewSchema = {
  type: 'object',
  properties: {
    instanceId: { type: 'string' },
    iotDomainId: { type: 'string' },
    displayName: { type: 'string' },
    externalKey: { type: 'string' },
    authId: { type: ['string', 'null'] },
    timeCreated: { type: 'string' },
    connectivityType: { type: 'string' },
    gateways: { type: 'array', items: { type: 'string' } },
    online: { type: 'boolean' },
    connections: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          clientId: { type: 'string' },
          transport: { type: 'string', enum: ['mqtts', 'wss'] },
          persistentSession: { type: 'boolean' },
          subscriptions: { type: 'array', items: subscription },
          gatewayId: { type: 'string' },
        },
      },
    },
    clientId: { type: ['string', 'null'] },
    persistentSession: { type: ['boolean', 'null'] },
    lastSeen: { type: ['string', 'null'] },
    subscriptions: { type: 'array', items: subscription },
  },
} as const;

const newDevice = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** The domain to create it in; the first domain when omitted. */
    iotDomainId: { type: 'string', minLength: 1, maxLength: 255 },
    displayName: { type: 'string', minLength: 1, maxLength: 255 },
    externalKey: { type: 'string', minLength: 1, maxLength: 255 },
    password: { type: 'string', minLength: 1, maxLength: 255 },
    description: { type: 'string', maxLength: 400 },
  },
} as const;

const createdDevice = {
  type: 'object',
  properties: {
    device: deviceViewSchema,
    secretId: { type: 'string' },
    connection: {
      type: 'object',
      properties: {
        host: { type: 'string' },
        port: { type: 'integer' },
        mqttUrl: { type: 'string' },
        httpsPort: { type: 'integer' },
        wssUrl: { type: 'string' },
        httpsUrl: { type: 'string' },
        caFile: { type: 'string' },
        caUrl: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        clientId: { type: 'string' },
        mosquittoSub: { type: 'string' },
      },
    },
  },
} as const;

/** Devices as the console sees them, and creating one in one step (Vault secret + instance). */
export const emulatorDeviceRoutes: FastifyPluginAsync = async (app) => {
  const { store, clock, config, control } = app.emu;
  const { presence, mqttPort, httpsPort, caFile } = app.ops;

  app.get(
    '/emulator/devices',
    {
      schema: {
        tags: ['emulator'],
        summary: 'Every active digital twin instance with its MQTT presence and subscriptions',
        response: { 200: itemsOf(deviceViewSchema) },
      },
    },
    async () => ({ items: await listDeviceViews(store, presence, control.store.liveDomains().map((d) => d.id)) }),
  );

  app.post<{ Body: (NewDevice & { iotDomainId?: string }) | undefined }>(
    '/emulator/devices',
    {
      schema: {
        tags: ['emulator'],
        summary: 'Create a device in one step: a Vault secret with its password and an instance whose authId names it',
        body: newDevice,
        response: { 200: createdDevice },
      },
    },
    async (req) => {
      const { iotDomainId, ...device } = req.body ?? {};
      const domain = iotDomainId ? control.store.domain(iotDomainId) : (control.domainForServername(undefined) ?? app.emu.domain);
      if (!domain || domain.lifecycle_state === 'DELETED') throw notFound('IoT domain', String(iotDomainId));
      const created = createDevice(store, clock, config.region, domain.id, device);
      const restUrl = `${req.protocol}://${req.headers.host ?? req.hostname}`;
      return {
        device: await deviceView(store, presence, created.instance),
        secretId: created.secretId,
        connection: {
          ...deviceConnection({ host: connectHostOf(domain, control.domainForServername(undefined), config.deviceHost), port: mqttPort, httpsPort, caFile, username: created.username, password: created.password }),
          caUrl: `${restUrl}/emulator/ca.pem`,
        },
      };
    },
  );
};
