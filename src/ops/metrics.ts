import type { Registry } from 'prom-client';
import type { Transition } from '../commands/engine.js';
import type { DevicePort } from '../commands/device-port.js';
import { DELIVERY_STATES, TERMINAL } from '../store/delivery-states.js';
import type { Store } from '../store/index.js';

/**
 * Process metrics (CPU, memory, event loop, GC) belong to the process, not to one emulator;
 * several emulators in one test process share them, and their observers are set up once.
 * prom-client is loaded at the first scrape, not at start-up (about 50 ms of CPU an
 * emulator that is never scraped does not need); the event-loop and GC series count from then.
 */
let processRegistry: Promise<Registry> | undefined;
function processMetrics(): Promise<Registry> {
  processRegistry ??= import('prom-client').then(({ Registry, collectDefaultMetrics }) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
  });
  return processRegistry;
}

export interface Metrics {
  /** Feeds every command state change in: final states and invoke-to-final latency. */
  transition(t: Transition): void;
  httpRequest(method: string, route: string, status: number): void;
  /** Wraps the engine's view of the broker so every command PUBLISH written is counted. */
  countSent(port: DevicePort): DevicePort;
  /** Counts a device PUBLISH taken (the last stage of broker/inbound.ts). */
  received(): void;
  /** Reports the adapter pipeline's work: messages mapped, and time in jq and in the whole pipeline. */
  watchAdapters(stats: () => { messages: number; jqMs: number; totalMs: number }): void;
  /** Adds metric families other parts keep (faults/, webhooks/), rendered with `family` at each scrape. */
  extend(families: () => string[]): void;
  readonly contentType: string;
  render(): Promise<string>;
}

/** Prometheus text exposition format 0.0.4, what prom-client serves too. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// Commands live from milliseconds (one-way, device online) to their PT10M default windows.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800, 3600];

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Labels) => {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
};

/** One metric family: its HELP and TYPE lines, then one line per series. */
export function family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, series: Array<[string, Labels, number]>): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...series.map(([n, l, v]) => `${n}${labelText(l)} ${v}`)].join('\n');
}

/** Counts per label set, kept in insertion order so the output is stable. */
export function counter<K extends string>(keyOf: (labels: Record<K, string>) => string) {
  const series = new Map<string, { labels: Record<K, string>; value: number }>();
  return {
    inc(labels: Record<K, string>, by = 1) {
      const key = keyOf(labels);
      const entry = series.get(key);
      if (entry) entry.value += by;
      else series.set(key, { labels, value: by });
    },
    series: () => [...series.values()],
  };
}

/** The gauges read the store when scraped; counters and the histogram are fed as things happen. */
export function createMetrics(store: Pick<Store, 'commands' | 'deviceSessions'>): Metrics {
  // Plain numbers, fed as things happen; text only when scraped. The gauges read the store then.
  const finished = counter<'state'>((l) => l.state);
  const mqtt = counter<'direction'>((l) => l.direction);
  const http = counter<'method' | 'route' | 'status'>((l) => `${l.method} ${l.status} ${l.route}`);
  const durations = new Map<string, { buckets: number[]; sum: number; count: number }>();
  for (const state of TERMINAL) finished.inc({ state }, 0);
  mqtt.inc({ direction: 'in' }, 0);
  mqtt.inc({ direction: 'out' }, 0);

  function observe(state: string, seconds: number): void {
    let d = durations.get(state);
    if (!d) durations.set(state, (d = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < DURATION_BUCKETS.length; i++) if (seconds <= DURATION_BUCKETS[i]) d.buckets[i]++;
    d.sum += seconds;
    d.count++;
  }

  function renderOwn(): string {
    const byStatus = new Map(store.commands.countByStatus().map((r) => [r.status, r.n]));
    const histogram: Array<[string, Labels, number]> = [];
    for (const [state, d] of durations) {
      DURATION_BUCKETS.forEach((le, i) => histogram.push(['oci_iot_command_duration_seconds_bucket', { le: String(le), state }, d.buckets[i]]));
      histogram.push(['oci_iot_command_duration_seconds_bucket', { le: '+Inf', state }, d.count]);
      histogram.push(['oci_iot_command_duration_seconds_sum', { state }, d.sum]);
      histogram.push(['oci_iot_command_duration_seconds_count', { state }, d.count]);
    }
    return [
      family('oci_iot_devices_connected', 'gauge', 'Devices (digital twin instances) with a live MQTT connection', [
        ['oci_iot_devices_connected', {}, store.deviceSessions.countOnline()],
      ]),
      // Every state, so each series exists from the first scrape.
      family('oci_iot_commands', 'gauge', 'Commands in the database, by delivery_status',
        DELIVERY_STATES.map((state) => ['oci_iot_commands', { state }, byStatus.get(state) ?? 0])),
      family('oci_iot_commands_finished_total', 'counter', 'Commands that reached a final state since start, by that state',
        finished.series().map(({ labels, value }) => ['oci_iot_commands_finished_total', labels, value])),
      family('oci_iot_command_duration_seconds', 'histogram', 'Time from invoke to final state (emulator clock), by final state', histogram),
      family('oci_iot_mqtt_messages_total', 'counter',
        'MQTT PUBLISH packets: in = taken from devices (telemetry, responses, wills), out = commands written to devices',
        mqtt.series().map(({ labels, value }) => ['oci_iot_mqtt_messages_total', labels, value])),
      family('oci_iot_http_requests_total', 'counter', 'HTTP requests served, by method, route pattern and status code',
        http.series().map(({ labels, value }) => ['oci_iot_http_requests_total', labels, value])),
      ...adapterFamilies(),
      ...extensions.flatMap((more) => more()),
    ].join('\n\n');
  }

  const extensions: Array<() => string[]> = [];
  let adapterStats: Parameters<Metrics['watchAdapters']>[0] | undefined;
  const watchAdapters: Metrics['watchAdapters'] = (stats) => void (adapterStats = stats);
  function adapterFamilies(): string[] {
    if (!adapterStats) return [];
    const s = adapterStats();
    return [
      family('oci_iot_adapter_messages_total', 'gauge', 'Device messages mapped through a digital twin adapter', [['oci_iot_adapter_messages_total', {}, s.messages]]),
      family('oci_iot_adapter_jq_seconds_total', 'gauge', 'Time spent running adapter jq programs', [['oci_iot_adapter_jq_seconds_total', {}, s.jqMs / 1000]]),
      family('oci_iot_adapter_seconds_total', 'gauge', 'Time spent in the adapter pipeline, jq included', [['oci_iot_adapter_seconds_total', {}, s.totalMs / 1000]]),
    ];
  }

  return {
    watchAdapters,
    extend: (families) => void extensions.push(families),
    transition({ command, to }) {
      if (!TERMINAL.includes(to)) return;
      finished.inc({ state: to });
      const ms = Date.parse(command.time_finished ?? command.time_updated) - Date.parse(command.time_created);
      observe(to, Math.max(0, ms) / 1000);
    },
    httpRequest(method, route, status) {
      http.inc({ method, route, status: String(status) });
    },
    countSent(port) {
      return {
        ...port,
        send(to, message, written) {
          const sent = port.send(to, message, written);
          if (sent) mqtt.inc({ direction: 'out' });
          return sent;
        },
      };
    },
    received() {
      mqtt.inc({ direction: 'in' });
    },
    contentType: CONTENT_TYPE,
    async render() {
      const processText = await (await processMetrics()).metrics();
      return `${processText.trimEnd()}\n\n${renderOwn()}\n`;
    },
  };
}
