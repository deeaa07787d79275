import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Counter } from 'prom-client';
import { emulatorFaultRoutes, type FaultControl } from './api/routes/emulator-faults.js';
import type { Clock } from './clock.js';
import { clockQueue } from './clock-queue.js';
import type { DevicePort, DeviceSignals } from './commands/device-port.js';
import { registerApiFaults } from './faults/api-faults.js';
import { createDeviceFaults } from './faults/device-faults.js';
import { createFaultBook, type DeviceFaultSpec } from './faults/faults.js';
import type { Metrics } from './ops/metrics.js';
import type { Db } from './store/database.js';

/**
 * What a test suite or a demo steers the emulator with, besides the clock: device and API
 * faults (faults/), virtual devices (virtual-devices/) and webhooks (webhooks/). The
 * composition root asks it for the decorators it puts between the engine and the broker,
 * and for the Fastify hook and routes; the parts themselves know nothing of each other.
 */
export function createTestControl(deps: { db: Db; clock: Clock; metrics: Metrics }) {
  const { db, clock, metrics } = deps;
  const queue = clockQueue(clock);
  const applied = new Counter({
    name: 'oci_iot_faults_applied_total',
    help: 'Times an injected fault took effect, by scope (device, api), kind and target (instance id or operation)',
    labelNames: ['scope', 'kind', 'target'],
    registers: [metrics.registry],
  });
  const book = createFaultBook({ db, clock, onApplied: (row) => applied.inc({ scope: row.scope, kind: row.kind, target: row.target }) });
  let broker: { disconnect(instanceId: string): void } | null = null;
  const deviceFaults = createDeviceFaults({ book, clock, queue, disconnect: (id) => broker?.disconnect(id) });

  const faults: FaultControl = {
    set: (spec) => ('instanceId' in spec ? deviceFaults.add(spec as DeviceFaultSpec) : book.add(spec)),
    list: book.list,
    get: book.get,
    clear: (filter) => book.clear(filter),
    operations: () => [...book.operations()].sort(),
  };

  const routes: FastifyPluginAsync = async (app) => {
    await app.register(emulatorFaultRoutes, { faults });
  };

  return {
    faults,
    /** The engine's view of the broker, with device faults applied. */
    devicePort: (inner: DevicePort): DevicePort => deviceFaults.port(inner),
    /** The broker's reports to the engine, with device faults applied. */
    deviceSignals: (inner: DeviceSignals): DeviceSignals => deviceFaults.signals(inner),
    loginGate: deviceFaults.loginGate,
    attachBroker(b: { disconnect(instanceId: string): void }): void {
      broker = b;
    },
    /** The API-fault hook: before any route is added, after authentication checks. */
    registerHooks(app: FastifyInstance): void {
      registerApiFaults(app, { book, clock, queue });
    },
    routes,
    async stop(): Promise<void> {
      queue.stop();
    },
  };
}

export type TestControl = ReturnType<typeof createTestControl>;
