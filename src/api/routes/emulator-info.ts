import type { FastifyPluginAsync } from 'fastify';
import { iso } from '../../clock/clock.js';
import { deviceUrls } from '../../views/connection.js';
import { connectHostOf } from '../../control/hosts.js';

const info = {
  type: 'object',
  properties: {
    restUrl: { type: 'string' },
    apiBaseUrl: { type: 'string' },
    dataApiUrl: { type: 'string' },
    deviceHost: { type: 'string' },
    mqttPort: { type: 'integer' },
    mqttUrl: { type: 'string' },
    mqttProtocol: { type: 'string' },
    httpsPort: { type: 'integer' },
    wssUrl: { type: 'string' },
    httpsUrl: { type: 'string' },
    caFile: { type: 'string' },
    caUrl: { type: 'string' },
    domain: {
      type: 'object',
      properties: { id: { type: 'string' }, shortId: { type: 'string' }, displayName: { type: 'string' }, groupId: { type: 'string' } },
    },
    /** Every live domain: where its devices connect (TLS SNI tells them apart) and its data API. */
    domains: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          shortId: { type: 'string' },
          displayName: { type: 'string' },
          groupId: { type: 'string' },
          lifecycleState: { type: 'string' },
          deviceHost: { type: 'string' },
          mqttUrl: { type: 'string' },
          dataApiUrl: { type: 'string' },
        },
      },
    },
    clock: { type: 'object', properties: { kind: { type: 'string' }, now: { type: 'string' } } },
  },
} as const;

const mqttUrlOf = (host: string, port: number) => `mqtts://${host.includes(':') ? `[${host}]` : host}:${port}`;

/** Where things are: what the console's domain panel and `device create` show. */
export const emulatorInfoRoutes: FastifyPluginAsync = async (app) => {
  const { clock, control } = app.emu;
  const { mqttPort, httpsPort, caFile, ca } = app.ops;

  app.get('/emulator/info', { schema: { tags: ['emulator'], summary: 'Endpoints, IoT domain and clock of this emulator', response: { 200: info } } }, async (req) => {
    // The caller's own view of our address, so the URLs work through port mappings and proxies.
    const restUrl = `${req.protocol}://${req.headers.host ?? req.hostname}`;
    // The first live domain (where devices without SNI land) is the one the top-level fields describe.
    const domains = control.store.liveDomains();
    const domain = control.domainForServername(undefined) ?? app.emu.domain;
    // Devices of the first domain are told --device-host (localhost): it resolves everywhere and lands on it.
    const host = connectHostOf(domain, domain, app.emu.config.deviceHost);
    return {
      restUrl,
      apiBaseUrl: `${restUrl}/20250531`,
      dataApiUrl: `${restUrl}/ords/${domain.short_id}/20250531`,
      deviceHost: domain.device_host,
      mqttPort,
      mqttUrl: mqttUrlOf(host, mqttPort),
      mqttProtocol: 'MQTT 3.1.1 and 5 over TLS',
      httpsPort,
      wssUrl: deviceUrls(host, mqttPort, httpsPort).wssUrl,
      httpsUrl: deviceUrls(host, mqttPort, httpsPort).httpsUrl,
      caFile,
      caUrl: `${restUrl}/emulator/ca.pem`,
      domain: { id: domain.id, shortId: domain.short_id, displayName: domain.display_name, groupId: domain.iot_domain_group_id },
      domains: domains.map((d) => ({
        id: d.id,
        shortId: d.short_id,
        displayName: d.display_name,
        groupId: d.iot_domain_group_id,
        lifecycleState: d.lifecycle_state,
        deviceHost: d.device_host,
        mqttUrl: mqttUrlOf(connectHostOf(d, domain, app.emu.config.deviceHost), mqttPort),
        dataApiUrl: `${restUrl}/ords/${d.short_id}/20250531`,
      })),
      clock: { kind: clock.kind, now: iso(clock.now()) },
    };
  });

  app.get('/emulator/ca.pem', { schema: { tags: ['emulator'], summary: 'The CA certificate devices pass to their MQTT client' } }, async (_req, reply) => {
    return reply
      .header('content-type', 'application/x-pem-file')
      .header('content-disposition', 'attachment; filename="oci-iot-emulator-ca.pem"')
      .send(ca);
  });
};
