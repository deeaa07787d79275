import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock/clock.js';
import { clockQueue } from '../clock/clock-queue.js';
import type { DevicePort } from '../commands/device-port.js';
import type { CommandEngine } from '../commands/engine.js';
import { registerApiFaults } from '../faults/api-faults.js';
import { createDeviceFaults } from '../faults/device-faults.js';
import { createFaultBook, type DeviceFaultSpec, type FaultControl } from '../faults/faults.js';
import { counter, family, type Metrics } from '../ops/metrics.js';
import type { Store } from '../store/index.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { JqEngine } from '../telemetry/jq.js';
import { createVirtualDevices } from '../virtual-devices/virtual-devices.js';
import { createWebhooks } from '../webhooks/webhooks.js';

/**
 * What a test suite or a demo steers the emulator with, besides the clock: device and API
 * faults (faults/), virtual devices (virtual-devices/) and webhooks (webhooks/). The
 * composition root asks it for the decorators it puts between the engine and the broker,
 * and for the Fastify hook (api/ registers the /emulator routes over `faults`, `webhooks`
 * and `virtualDevices`); the parts themselves know nothing of each other.
 */
export function createTestControl(deps: { store: Store; clock: Clock; metrics: Metrics; jq: JqEngine; storage?: StorageHealth }) {
  const { store, clock, metrics } = deps;
  // A timed action the storage refuses (a full disk under a delayed command) is tried again later.
  const queue = clockQueue(clock, (err, action) => {
    if (!deps.storage?.failed(err, 'a timed action')) throw err;
    deps.storage.retry('a timed action', action);
  });
  const applied = counter<'scope' | 'kind' | 'target'>((l) => `${l.scope} ${l.kind} ${l.target}`);
  const book = createFaultBook({ store, clock, onApplied: (row) => applied.inc({ scope: row.scope, kind: row.kind, target: row.target }) });
  let broker: { disconnect(instanceId: string): void } | null = null;
  const deviceFaults = createDeviceFaults({ book, clock, queue, disconnect: (id) => broker?.disconnect(id) });

  const attempts = counter<'outcome'>((l) => l.outcome);
  attempts.inc({ outcome: 'success' }, 0);
  attempts.inc({ outcome: 'failure' }, 0);
  const webhooks = createWebhooks({ store, clock, onAttempt: (r) => attempts.inc({ outcome: r.ok ? 'success' : 'failure' }), storage: deps.storage });
  metrics.extend(() => {
    const deliveries = new Map<string, number>(webhooks.totals().map((r) => [r.status, r.n]));
    return [
      family('oci_iot_faults_applied_total', 'counter', 'Times an injected fault took effect, by scope (device, api), kind and target (instance id or operation)',
        applied.series().map(({ labels, value }) => ['oci_iot_faults_applied_total', labels, value])),
      family('oci_iot_webhook_attempts_total', 'counter', 'Webhook delivery attempts, by outcome (success: a 2xx answer; failure: anything else)',
        attempts.series().map(({ labels, value }) => ['oci_iot_webhook_attempts_total', labels, value])),
      family('oci_iot_webhook_deliveries', 'gauge', 'Webhook deliveries in the database, by status (PENDING, DELIVERED, FAILED: given up)',
        ['PENDING', 'DELIVERED', 'FAILED'].map((status) => ['oci_iot_webhook_deliveries', { status }, deliveries.get(status) ?? 0])),
    ];
  });

  const virtualDevices = createVirtualDevices({ store, clock, queue, jq: deps.jq, storage: deps.storage });

  const faults: FaultControl = {
    set: (spec) => ('instanceId' in spec ? deviceFaults.add(spec as DeviceFaultSpec) : book.add(spec)),
    list: book.list,
    get: book.get,
    clear: (filter) => book.clear(filter),
    operations: () => [...book.operations()].sort(),
  };

  return {
    faults,
    webhooks,
    virtualDevices,
    /** The engine's view of the broker, with device faults applied. */
    devicePort: (inner: DevicePort): DevicePort => deviceFaults.port(inner),
    /** The device-fault stage of the inbound pipeline (broker/inbound.ts): what a fault withholds. */
    deviceFaults: { withholdsPuback: deviceFaults.withholdsPuback, withholdsResponse: deviceFaults.withholdsResponse },
    loginGate: deviceFaults.loginGate,
    attachBroker(b: { disconnect(instanceId: string): void }): void {
      broker = b;
    },
    attachEngine(engine: CommandEngine): void {
      engine.recordTransitions(webhooks.transition, webhooks.wantsTransitions);
    },
    /** Once the MQTT listener accepts devices: the stored virtual devices connect to it. */
    attachListener(target: { port: number; ca: string; host: string; servername: string }): void {
      virtualDevices.attach(target);
    },
    /** The API-fault hook: before any route is added, after authentication checks. */
    registerHooks(app: FastifyInstance): void {
      registerApiFaults(app, { book, clock, queue });
    },
    async stop(): Promise<void> {
      await virtualDevices.close();
      webhooks.stop();
      queue.stop();
    },
  };
}

export type TestControl = ReturnType<typeof createTestControl>;
