import { join } from 'node:path';
import type { BenchContext, Check } from '../lib/context.js';
import { EmulatorDb } from '../lib/db.js';
import { startEmulatorProcess } from '../lib/emulator.js';
import type { startLoad } from '../lib/load.js';
import { provisionDevices } from '../lib/provision.js';
import { cpuMeter } from '../lib/proc.js';
import type { TelemetryRequest, TelemetryResult } from '../load/protocol.js';

/** The bench load's payload `{"d": <device>, "n": <sequence>, "p": "<padding>"}`, as a model. */
const MODEL = {
  '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1'],
  '@id': 'dtmi:com:example:bench;1',
  '@type': 'Interface',
  contents: [
    { '@type': ['Telemetry', 'Historized'], name: 'd', schema: 'integer' },
    { '@type': ['Telemetry', 'Historized'], name: 'n', schema: 'long' },
    { '@type': ['Telemetry', 'Historized'], name: 'p', schema: 'string' },
  ],
};
/** One route by endpoint, JSONPath and jq mappings, and a catch-all that is never taken. */
const ROUTES = [
  { condition: '${endpoint(1) == "bench" and endpoint(2) == "telemetry"}', payloadMapping: { '$.d': '$.d', '$.n': '${.n}', '$.p': '${.p}' } },
  { condition: '*', payloadMapping: { '$.p': '${tojson}' } },
];
export const ROWS_PER_MESSAGE = 3;

export interface AdapterRun {
  result: TelemetryResult;
  /** historized_data rows observed inside the measured window, per second. */
  rowsPerSecond: number;
  cpu: number;
  /** Share of the emulator's CPU time spent in jq, and in the whole adapter pipeline. */
  jqShare: number;
  pipelineShare: number;
  checks: Check[];
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`POST ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function adapterSeconds(restUrl: string): Promise<{ jq: number; total: number }> {
  const text = await (await fetch(`${restUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { jq: value('oci_iot_adapter_jq_seconds_total'), total: value('oci_iot_adapter_seconds_total') };
}

/**
 * Telemetry through a digital twin adapter: the same devices, load and payload as raw
 * ingest, but every instance names an adapter, so each message also becomes three
 * historized_data rows and three snapshot_data upserts in the same transaction.
 */
export async function adapterTelemetryRun(
  ctx: BenchContext,
  load: ReturnType<typeof startLoad>,
  dir: string,
  devices: number,
  request: TelemetryRequest,
): Promise<AdapterRun> {
  const emulator = await startEmulatorProcess(ctx, { dataDir: join(dir, 'data-adapter'), certsDir: join(dir, 'certs'), profileName: 'telemetry-adapter' });
  try {
    const model = await post(`${emulator.restUrl}/20250531/digitalTwinModels`, { iotDomainId: emulator.domainId, spec: MODEL });
    const adapter = await post(`${emulator.restUrl}/20250531/digitalTwinAdapters`, {
      iotDomainId: emulator.domainId,
      digitalTwinModelId: model.id,
      inboundEnvelope: { referenceEndpoint: 'bench/telemetry/0' },
      inboundRoutes: ROUTES,
    });
    const { devices: creds } = await provisionDevices(emulator.restUrl, emulator.domainId, devices, 32, { digitalTwinAdapterId: adapter.id });
    const conn = await load.call('connect', { url: `mqtts://127.0.0.1:${emulator.mqttPort}`, caFile: emulator.caFile, devices: creds, parallel: 50, subscribe: null });
    if (conn.connected !== devices) throw new Error(`only ${conn.connected} devices connected: ${conn.firstError}`);
    ctx.log(`telemetry: ${devices} devices publishing QoS 1 through an adapter`);
    const before = await adapterSeconds(emulator.restUrl);
    const meter = cpuMeter(emulator.pid);
    const t0 = performance.now();
    const result = await load.call('telemetry', request);
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpu = meter();
    const after = await adapterSeconds(emulator.restUrl);
    await load.call('disconnect', {});
    const cpuSeconds = cpu * wallSeconds;
    const db = new EmulatorDb(emulator.databaseFile);
    try {
      const seconds = (result.windowEnd - result.windowStart) / 1000;
      const rows = db.historizedBetween(result.windowStart, result.windowEnd);
      const total = db.historizedRows();
      const rejected = db.rejectedRows();
      return {
        result,
        rowsPerSecond: rows / seconds,
        cpu,
        jqShare: (after.jq - before.jq) / cpuSeconds,
        pipelineShare: (after.total - before.total) / cpuSeconds,
        checks: [
          {
            name: `every acknowledged publish through the adapter is ${ROWS_PER_MESSAGE} historized_data rows`,
            ok: total === result.acked * ROWS_PER_MESSAGE,
            detail: `${total} rows, ${result.acked} PUBACKs`,
          },
          { name: 'no message rejected by the adapter', ok: rejected === 0, detail: `${rejected} rejected_data rows` },
        ],
      };
    } finally {
      db.close();
    }
  } finally {
    await emulator.stop();
  }
}
