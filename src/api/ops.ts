import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { consoleRoutes } from '../console/routes.js';
import { VERSION } from '../version.js';
import { changeFeed } from './change-feed.js';
import { requestMethod } from './head-requests.js';
import { docsRoutes, registerOpenApi } from './openapi.js';
import type { OpsContext } from './ops-context.js';
import { emulatorCommandRoutes } from './routes/emulator-commands.js';
import { emulatorDeviceRoutes } from './routes/emulator-devices.js';
import { emulatorInfoRoutes } from './routes/emulator-info.js';
import { emulatorSqlRoutes } from './routes/emulator-sql.js';
import { emulatorTwinRoutes } from './routes/emulator-twin.js';
import { eventRoutes } from './routes/events.js';
import { metricsRoutes } from './routes/metrics.js';
import { named } from './named-plugin.js';

/** Writes after which the device list looks different. */
const DEVICE_WRITES = /^\/(20250531\/digitalTwinInstances(\/:digitalTwinInstanceId)?|emulator\/devices)$/;

/**
 * What must be in place before any route is added: the `ops` decoration, the OpenAPI
 * collector (it only sees routes registered after it) and the root hooks every route shares.
 */
export function registerOpsHooks(app: FastifyInstance, ops: OpsContext): void {
  app.decorate('ops', ops);
  const feed = changeFeed();
  app.decorate('deviceFeed', feed);
  const stopPresence = ops.presence.onPresence(() => feed.notify());
  app.addHook('onClose', async () => stopPresence());

  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url;
    // Unmatched paths share one label, so scanners cannot grow the series without bound.
    ops.metrics.httpRequest(requestMethod(req.raw), route ?? 'unmatched', reply.statusCode);
    if (route && req.method !== 'GET' && reply.statusCode < 300 && DEVICE_WRITES.test(route)) feed.notify();
    done();
  });
  registerOpenApi(app, VERSION);
}

/** The console, its JSON and event routes, /metrics and /docs. */
export const opsRoutes: FastifyPluginAsync = async (app) => {
  await app.register(named(emulatorInfoRoutes));
  await app.register(named(emulatorDeviceRoutes));
  await app.register(named(emulatorCommandRoutes));
  await app.register(named(emulatorSqlRoutes));
  await app.register(named(emulatorTwinRoutes));
  await app.register(named(eventRoutes));
  await app.register(named(metricsRoutes));
  await app.register(named(docsRoutes));
  await app.register(named(consoleRoutes));
};
