import { join } from 'node:path';
import type { BenchContext, Check, Row, Section } from '../lib/context.js';
import { judge } from '../lib/context.js';
import { EmulatorDb } from '../lib/db.js';
import { startEmulatorProcess } from '../lib/emulator.js';
import { fixed, int, rate, ratioText } from '../lib/format.js';
import { startLoad } from '../lib/load.js';
import { spawnMosquitto, writeMosquittoConfig } from '../lib/mosquitto.js';
import { freePort, waitForPorts } from '../lib/net.js';
import { cpuMeter, sleep } from '../lib/proc.js';
import { provisionDevices } from '../lib/provision.js';
import { ratio } from '../lib/stats.js';
import { TELEMETRY_PREFIX, type TelemetryRequest, type TelemetryResult } from '../load/protocol.js';
import { adapterTelemetryRun, ROWS_PER_MESSAGE, type AdapterRun } from './adapter-telemetry.js';

interface Settings {
  devices: number;
  windowPerDevice: number;
  warmupMs: number;
  measureMs: number;
}

const FULL: Settings = { devices: 100, windowPerDevice: 10, warmupMs: 2000, measureMs: 10_000 };
const QUICK: Settings = { devices: 20, windowPerDevice: 10, warmupMs: 500, measureMs: 3000 };
const PAYLOAD_BYTES = 64;
const TARGET_RATIO = 0.5;
const ADAPTER_TARGET_RATIO = 0.3;

export async function telemetryScenario(ctx: BenchContext, mosquitto: string | null): Promise<Section> {
  const s = ctx.quick ? QUICK : FULL;
  const dir = ctx.tempDir('telemetry');
  const certsDir = join(dir, 'certs');
  const request = (observer: TelemetryRequest['observer']): TelemetryRequest => ({
    windowPerDevice: s.windowPerDevice,
    payloadBytes: PAYLOAD_BYTES,
    warmupMs: s.warmupMs,
    measureMs: s.measureMs,
    observer,
  });
  const checks: Check[] = [];
  const load = startLoad(ctx);
  let emu: TelemetryResult;
  let rowsPerSecond = NaN;
  let emuCpu = NaN;
  let adapted: AdapterRun | null = null;
  let mosq: TelemetryResult | null = null;
  let mosqCpu = NaN;
  try {
    const emulator = await startEmulatorProcess(ctx, { dataDir: join(dir, 'data'), certsDir, profileName: 'telemetry' });
    const { devices } = await provisionDevices(emulator.restUrl, emulator.domainId, s.devices);
    try {
      const conn = await load.call('connect', { url: `mqtts://127.0.0.1:${emulator.mqttPort}`, caFile: emulator.caFile, devices, parallel: 50, subscribe: null });
      if (conn.connected !== s.devices) throw new Error(`only ${conn.connected} devices connected: ${conn.firstError}`);
      ctx.log(`telemetry: ${s.devices} devices publishing QoS 1 to the emulator`);
      const meter = cpuMeter(emulator.pid);
      emu = await load.call('telemetry', request(null));
      emuCpu = meter();
      await load.call('disconnect', {});
      const db = new EmulatorDb(emulator.databaseFile);
      try {
        rowsPerSecond = db.rawDataBetween(emu.windowStart, emu.windowEnd) / ((emu.windowEnd - emu.windowStart) / 1000);
        const rows = db.rawDataRows();
        checks.push(
          { name: 'every acknowledged publish is a raw_data row', ok: rows === emu.acked, detail: `${int(rows)} rows, ${int(emu.acked)} PUBACKs` },
          { name: 'no publish failed', ok: emu.errors === 0, detail: `${emu.errors} errors${emu.firstError ? `: ${emu.firstError}` : ''}` },
        );
      } finally {
        db.close();
      }
      ctx.log(`telemetry: emulator ${int(rowsPerSecond)} rows/s`);
    } finally {
      await emulator.stop();
    }

    adapted = await adapterTelemetryRun(ctx, load, dir, s.devices, request(null));
    checks.push(...adapted.checks);
    ctx.log(`telemetry: through an adapter ${int(adapted.rowsPerSecond)} historized rows/s, jq ${fixed(adapted.jqShare * 100, 0)} % of CPU`);

    if (mosquitto) {
      const port = await freePort();
      const observer = { username: 'bench-observer', password: 'bench-observer-password' };
      const users = [...devices.map((d) => ({ username: d.externalKey, password: d.password })), observer];
      const config = writeMosquittoConfig(ctx, mosquitto, certsDir, port, users);
      const broker = spawnMosquitto(ctx, mosquitto, config, port);
      try {
        await waitForPorts([port], 10_000);
        const url = `mqtts://127.0.0.1:${port}`;
        const caFile = join(certsDir, 'ca.pem');
        const conn = await load.call('connect', { url, caFile, devices, parallel: 50, subscribe: null });
        if (conn.connected !== s.devices) throw new Error(`only ${conn.connected} devices connected to Mosquitto: ${conn.firstError}`);
        ctx.log(`telemetry: ${s.devices} devices publishing QoS 1 through Mosquitto to one subscriber`);
        const meter = cpuMeter(broker.pid);
        mosq = await load.call('telemetry', request({ url, caFile, ...observer, topic: `${TELEMETRY_PREFIX}/#` }));
        mosqCpu = meter();
        await load.call('disconnect', {});
        checks.push({
          name: 'Mosquitto delivered every acknowledged publish to the subscriber',
          ok: mosq.observed === mosq.acked && mosq.errors === 0,
          detail: `${int(mosq.observed)} delivered, ${int(mosq.acked)} acknowledged, ${mosq.errors} errors`,
        });
        ctx.log(`telemetry: Mosquitto ${int(mosq.observedPerSecond)} msg/s pub→sub`);
      } finally {
        await broker.stop();
        await sleep(100);
      }
    }
  } finally {
    await load.stop();
  }

  const r = ratio(rowsPerSecond, mosq?.observedPerSecond ?? NaN);
  const rows: Row[] = [
    {
      measure: `Telemetry ingest, QoS 1, ${s.devices} devices × ${s.windowPerDevice} in flight, ${PAYLOAD_BYTES} B`,
      emulator: `${rate(rowsPerSecond, ' rows/s')} in raw_data (CPU ${fixed(emuCpu * 100, 0)} %)`,
      ceiling: mosq ? `Mosquitto pub→sub ${rate(mosq.observedPerSecond, ' msg/s')} (CPU ${fixed(mosqCpu * 100, 0)} %)` : 'n/a (Mosquitto not installed)',
      ratio: ratioText(r),
      target: `≥ ${TARGET_RATIO}×`,
      status: judge(Number.isFinite(r) ? r >= TARGET_RATIO : null),
    },
  ];
  const ra = ratio(adapted?.rowsPerSecond ?? NaN, mosq?.observedPerSecond ?? NaN);
  if (adapted) {
    rows.push({
      measure: `Telemetry through an adapter into historized_data, same load (${ROWS_PER_MESSAGE} rows per message)`,
      emulator: `${rate(adapted.rowsPerSecond, ' rows/s')} (${rate(adapted.result.ackPerSecond, ' msg/s')}; CPU ${fixed(adapted.cpu * 100, 0)} %, jq ${fixed(adapted.jqShare * 100, 0)} % of it, adapter pipeline ${fixed(adapted.pipelineShare * 100, 0)} %)`,
      ceiling: mosq ? `Mosquitto pub→sub ${rate(mosq.observedPerSecond, ' msg/s')}` : 'n/a (Mosquitto not installed)',
      ratio: ratioText(ra),
      target: `≥ ${ADAPTER_TARGET_RATIO}×`,
      status: judge(Number.isFinite(ra) ? ra >= ADAPTER_TARGET_RATIO : null),
    });
  }
  const details = [
    `Each device keeps ${s.windowPerDevice} QoS 1 publishes in flight for ${s.warmupMs / 1000} s warm-up + ${s.measureMs / 1000} s measured. The emulator acknowledges a publish only after its raw_data row is written; the rate is rows with time_received inside the measured window. Mosquitto (persistence off) forwards the same load to one QoS 1 subscriber; the rate is messages that subscriber received inside the window.`,
    '',
    `- Emulator: ${rate(emu.ackPerSecond, ' PUBACK/s')}, ${rate(rowsPerSecond, ' rows/s')}, emulator CPU ${fixed(emuCpu * 100, 0)} %, load CPU ${fixed(emu.loadCpu * 100, 0)} %.`,
    adapted
      ? `- Through an adapter (a model of the payload's three fields, all Historized; routes by endpoint(n) with JSONPath and jq mappings; jq 1.7 as WebAssembly in a worker, one call per batch): ${rate(adapted.result.ackPerSecond, ' PUBACK/s')}, ${rate(adapted.rowsPerSecond, ' historized rows/s')}, emulator CPU ${fixed(adapted.cpu * 100, 0)} %, of which jq ${fixed(adapted.jqShare * 100, 0)} % and the whole pipeline ${fixed(adapted.pipelineShare * 100, 0)} %.`
      : '- Through an adapter: not run.',
    mosq
      ? `- Mosquitto: ${rate(mosq.ackPerSecond, ' PUBACK/s')} to publishers, ${rate(mosq.observedPerSecond, ' msg/s')} to the subscriber, broker CPU ${fixed(mosqCpu * 100, 0)} %, load CPU ${fixed(mosq.loadCpu * 100, 0)} %.`
      : '- Mosquitto: not installed, no ceiling.',
  ].join('\n');
  return { id: 'telemetry', title: 'Telemetry ingest', rows, checks, details };
}
