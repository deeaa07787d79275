import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { requestId } from '../ids.js';
import { registerAdminAuth, type HostPolicy } from './admin-auth.js';
import type { ApiContext } from './context.js';
import { frameworkError, registerErrorHandling } from './errors.js';
import { registerJsonBody } from './json-body.js';
import { restConnections } from './rest-connections.js';
import { durationMs } from '../config.js';
import { lazySchemaCompilers } from './lazy-schemas.js';
import { registerSignatureCheck } from './signature.js';
import { loadSignatureKeys } from './signature-keys.js';
import { opsRoutes, registerOpsHooks } from './ops.js';
import type { OpsContext } from './ops-context.js';
import type { TestControl } from '../test-control/test-control.js';
import { DEFAULT_BODY_LIMIT, registerRequestLimits } from './limits.js';
import { certificateRoutes } from './routes/certificates.js';
import { domainRoutes } from './routes/domains.js';
import { emulatorRoutes } from './routes/emulator.js';
import { emulatorFaultRoutes } from './routes/emulator-faults.js';
import { emulatorVirtualDeviceRoutes } from './routes/emulator-virtual-devices.js';
import { emulatorWebhookRoutes } from './routes/emulator-webhooks.js';
import { instanceContentRoutes } from './routes/instance-content.js';
import { instanceRoutes } from './routes/instances.js';
import { invokeRoutes } from './routes/invoke.js';
import { ordsRoutes } from './routes/ords.js';
import { oauthRoutes } from './routes/oauth.js';
import { identityRoutes } from './routes/identity.js';
import { newTokenKey, oauthTokens } from './oauth-tokens.js';
import { twinRoutes } from './routes/twins.js';
import { vaultRoutes } from './routes/vault.js';
import { workRequestRoutes } from './routes/work-requests.js';
import { named } from './named-plugin.js';

export function buildApi(
  ctx: ApiContext,
  opts: { logger: boolean | object; loggerInstance?: FastifyBaseLogger; ops?: OpsContext; testControl?: TestControl; adminToken?: string | null },
): FastifyInstance & { routeList: RouteEntry[] } {
  const { config } = ctx;
  const connections = restConnections({
    keepAliveTimeoutMs: durationMs(config.restKeepAliveTimeout),
    headersTimeoutMs: durationMs(config.restHeadersTimeout),
    requestTimeoutMs: durationMs(config.restRequestTimeout),
    maxConnections: config.restMaxConnections,
  });
  const app = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: opts.logger }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    // OCIDs run past find-my-way's default 100-character limit for a path parameter.
    routerOptions: { maxParamLength: 1024 },
    // What the router refuses itself (an overlong parameter, a bad %-escape) in OCI's shape too.
    frameworkErrors: frameworkError,
    // The OCI SDKs send `opc-request-id`; it becomes the request id in our logs too.
    requestIdHeader: 'opc-request-id',
    genReqId: () => requestId(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    schemaController: { compilersFactory: lazySchemaCompilers },
    // HEAD is routed as GET by the server itself (head-requests.ts), not by a copy of every GET route.
    exposeHeadRoutes: false,
    // Timeouts and a connection cap of its own (rest-connections.ts); HEAD as GET (head-requests.ts).
    serverFactory: connections.serverFactory,
    // Every plugin is ours and finishes; the check costs a timer per plugin and route.
    pluginTimeout: 0,
  });
  app.decorate('emu', ctx);
  app.decorate('oauth', oauthTokens({ clock: ctx.clock, key: () => ctx.store.meta.valueOf('oauth_token_key', newTokenKey) }));
  // Callback style: an async hook costs a promise on every request.
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('opc-request-id', req.id);
    done();
  });
  registerErrorHandling(app);
  const hosts: HostPolicy = { bindHost: ctx.config.bindHost, deviceHost: ctx.config.deviceHost, domainHostSuffix: ctx.config.domainHostSuffix, allowHosts: ctx.config.allowHosts };
  registerAdminAuth(app, opts.adminToken ?? null, hosts);
  // Every route as registered (after the admin mark), for tests that prove a property of all of them.
  const routeList: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeList.push({ method, url: route.url, admin: route.config?.admin === true });
  });
  registerJsonBody(app);
  registerRequestLimits(app);
  if (ctx.config.verifySignatures) registerSignatureCheck(app, loadSignatureKeys(ctx.config.signatureKeys));
  // API faults answer after authentication, and must see every route as it is added.
  opts.testControl?.registerHooks(app);
  // Console, /metrics, /docs: their hooks and the OpenAPI collector go first to see every route.
  if (opts.ops) {
    registerOpsHooks(app, opts.ops);
    opts.ops.metrics.extend(connections.metricFamilies);
  }
  void app.register(named(domainRoutes));
  void app.register(named(workRequestRoutes));
  void app.register(named(instanceRoutes));
  void app.register(named(instanceContentRoutes));
  void app.register(named(twinRoutes));
  void app.register(named(invokeRoutes));
  void app.register(named(vaultRoutes));
  void app.register(named(ordsRoutes));
  void app.register(named(oauthRoutes));
  void app.register(named(identityRoutes));
  void app.register(named(emulatorRoutes));
  void app.register(named(certificateRoutes));
  if (opts.ops) void app.register(named(opsRoutes));
  // /emulator/faults, /emulator/webhooks, /emulator/virtual-devices over the test-control facade.
  const testControl = opts.testControl;
  if (testControl) {
    void app.register(named(async function emulatorTestControlRoutes(scope: FastifyInstance) {
      await scope.register(named(emulatorFaultRoutes), { faults: testControl.faults });
      await scope.register(named(emulatorWebhookRoutes), { webhooks: testControl.webhooks });
      await scope.register(named(emulatorVirtualDeviceRoutes), { virtualDevices: testControl.virtualDevices, webhooks: testControl.webhooks });
    }));
  }
  return Object.assign(app, { routeList });
}

/** One registered route: its method, its template, and whether it is on the admin surface. */
export interface RouteEntry {
  method: string;
  url: string;
  admin: boolean;
}
