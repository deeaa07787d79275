import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Transition } from '../commands/engine.js';
import type { DevicePort, DeviceSignals } from '../commands/device-port.js';
import { DELIVERY_STATES, TERMINAL } from '../commands/states.js';
import type { Store } from '../store/index.js';

/**
 * Process metrics (CPU, memory, event loop, GC) belong to the process, not to one emulator;
 * several emulators in one test process share them, and their observers are set up once.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface Metrics {
  /** Feeds every command state change in: final states and invoke-to-final latency. */
  transition(t: Transition): void;
  httpRequest(method: string, route: string, status: number): void;
  /** Wraps the engine's view of the broker so every command PUBLISH written is counted. */
  countSent(port: DevicePort): DevicePort;
  /** Wraps the broker's signals so every device PUBLISH taken is counted. */
  countReceived(signals: DeviceSignals): DeviceSignals;
  /** Reports the adapter pipeline's work: messages mapped, and time in jq and in the whole pipeline. */
  watchAdapters(stats: () => { messages: number; jqMs: number; totalMs: number }): void;
  readonly contentType: string;
  /** Where other parts (faults/, webhooks/) register their own series. */
  readonly registry: Registry;
  render(): Promise<string>;
}

/** The gauges read the store when scraped; counters and the histogram are fed as things happen. */
export function createMetrics(store: Pick<Store, 'commands' | 'deviceSessions'>): Metrics {
  const registry = new Registry();

  new Gauge({
    name: 'oci_iot_devices_connected',
    help: 'Devices (digital twin instances) with a live MQTT connection',
    registers: [registry],
    collect() {
      this.set(store.deviceSessions.countOnline());
    },
  });

  new Gauge({
    name: 'oci_iot_commands',
    help: 'Commands in the database, by delivery_status',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = new Map(store.commands.countByStatus().map((r) => [r.status, r.n]));
      // Every state, so each series exists from the first scrape.
      for (const state of DELIVERY_STATES) this.set({ state }, counts.get(state) ?? 0);
    },
  });

  const finished = new Counter({
    name: 'oci_iot_commands_finished_total',
    help: 'Commands that reached a final state since start, by that state',
    labelNames: ['state'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'oci_iot_command_duration_seconds',
    help: 'Time from invoke to final state (emulator clock), by final state',
    labelNames: ['state'],
    // Commands live from milliseconds (one-way, device online) to their PT10M default windows.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800, 3600],
    registers: [registry],
  });
  const mqtt = new Counter({
    name: 'oci_iot_mqtt_messages_total',
    help: 'MQTT PUBLISH packets: in = taken from devices (telemetry, responses, wills), out = commands written to devices',
    labelNames: ['direction'],
    registers: [registry],
  });
  const http = new Counter({
    name: 'oci_iot_http_requests_total',
    help: 'HTTP requests served, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  for (const state of TERMINAL) finished.inc({ state }, 0);
  mqtt.inc({ direction: 'in' }, 0);
  mqtt.inc({ direction: 'out' }, 0);

  const watchAdapters: Metrics['watchAdapters'] = (stats) => {
    const gauge = (name: string, help: string, pick: (s: ReturnType<typeof stats>) => number) =>
      new Gauge({ name, help, registers: [registry], collect() { this.set(pick(stats())); } });
    gauge('oci_iot_adapter_messages_total', 'Device messages mapped through a digital twin adapter', (s) => s.messages);
    gauge('oci_iot_adapter_jq_seconds_total', 'Time spent running adapter jq programs', (s) => s.jqMs / 1000);
    gauge('oci_iot_adapter_seconds_total', 'Time spent in the adapter pipeline, jq included', (s) => s.totalMs / 1000);
  };

  return {
    watchAdapters,
    transition({ command, to }) {
      if (!TERMINAL.includes(to)) return;
      finished.inc({ state: to });
      const ms = Date.parse(command.time_finished ?? command.time_updated) - Date.parse(command.time_created);
      latency.observe({ state: to }, Math.max(0, ms) / 1000);
    },
    httpRequest(method, route, status) {
      http.inc({ method, route, status: String(status) });
    },
    countSent(port) {
      return {
        ...port,
        send(instanceId, message, written) {
          const sent = port.send(instanceId, message, written);
          if (sent) mqtt.inc({ direction: 'out' });
          return sent;
        },
      };
    },
    countReceived(signals) {
      return {
        ...signals,
        published(instanceId, topic, payload) {
          signals.published(instanceId, topic, payload);
          mqtt.inc({ direction: 'in' });
        },
      };
    },
    contentType: registry.contentType,
    registry,
    render: () => Registry.merge([processMetrics(), registry]).metrics(),
  };
}
