/**
 * Can user-supplied code stall the broker? Two probes against an in-process emulator with
 * real MQTTS devices, each timing another device's command round trip (invoke over REST →
 * the device gets it → it answers → COMPLETED) while the probe runs:
 *
 *  - regex: a model whose Validated string has `pattern: "^(a+)+$"` and a device that sends
 *    a 30-character value `aaaa…!` (catastrophic backtracking on a backtracking engine);
 *    the figure is that publish's PUBACK time.
 *  - jq: an adapter whose routes run away (`def f: f; f`, `[range(1e8)]`, `"a"*1e8`) and
 *    a device that sends 20 such messages; the figure is how long until all 20 are in
 *    rejected_data.
 *
 * Usage: npx tsx bench/user-code-stalls.ts [regex|jq ...]   (both by default)
 * Prints one JSON line per probe; bench/results/user-code-stalls.md keeps the figures.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmulator, type StartedEmulator } from '../src/programmatic.js';
import { percentiles } from './lib/stats.js';

const COMMAND = {
  requestDataFormat: 'JSON' as const,
  requestEndpoint: 'bench/cmd',
  requestDuration: 'PT3M',
  requestData: { ping: 1 },
  responseEndpoint: 'bench/cmd/response',
  responseDuration: 'PT3M',
};

async function post(emu: StartedEmulator, path: string, body: unknown): Promise<Record<string, any>> {
  const res = await fetch(`${emu.restUrl}/20250531${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, any>;
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function connect(emu: StartedEmulator, device: { externalKey: string; password: string }): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtts://localhost:${emu.mqttPort}`, {
    ca: emu.ca,
    username: device.externalKey,
    password: device.password,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
}

/** A device that answers every command; `roundTrips` runs them back to back until `stop()`. */
async function responder(emu: StartedEmulator) {
  const device = await emu.createDevice();
  const client = await connect(emu, device);
  client.on('message', (topic) => {
    if (topic === COMMAND.requestEndpoint) client.publish(COMMAND.responseEndpoint, '{"ok":true}', { qos: 1 });
  });
  await client.subscribeAsync(COMMAND.requestEndpoint, { qos: 1 });
  let running = true;
  const samples: number[] = [];
  const one = async () => {
    const t0 = performance.now();
    const id = await emu.invoke(device.instanceId, COMMAND);
    await emu.waitForCommand(id, 'COMPLETED');
    return performance.now() - t0;
  };
  return {
    one,
    /** Round trips one after another (each taken alone, so a stall shows in full). */
    loop(): Promise<number[]> {
      return (async () => {
        while (running) samples.push(await one());
        return samples;
      })();
    },
    stop() {
      running = false;
    },
    close: () => client.endAsync(),
  };
}

async function baseline(r: Awaited<ReturnType<typeof responder>>, n = 30): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await r.one());
  return out;
}

const summary = (xs: number[]) => {
  const p = percentiles(xs);
  return { count: p.count, p50: +p.p50.toFixed(1), p99: +p.p99.toFixed(1), max: +p.max.toFixed(1) };
};

async function regexProbe(): Promise<Record<string, unknown>> {
  const emu = await startEmulator({ clock: 'system' });
  try {
    const iotDomainId = emu.domain.id;
    const model = await post(emu, '/digitalTwinModels', {
      iotDomainId,
      spec: {
        '@context': ['dtmi:dtdl:context;3', 'dtmi:com:oracle:dtdl:extension:validation;1'],
        '@id': 'dtmi:com:example:redos;1',
        '@type': 'Interface',
        contents: [{ '@type': ['Telemetry', 'Validated'], name: 'v', schema: 'string', pattern: '^(a+)+$' }],
      },
    }).catch((err: Error) => ({ refused: err.message }));
    if ('refused' in model) return { probe: 'regex', refused: model.refused };
    const adapter = await post(emu, '/digitalTwinAdapters', { iotDomainId, digitalTwinModelId: model.id });
    const sender = await emu.createDevice({ digitalTwinAdapterId: adapter.id });
    const client = await connect(emu, sender);
    const r = await responder(emu);
    const before = await baseline(r);
    const during = r.loop();
    const t0 = performance.now();
    await client.publishAsync('telemetry', JSON.stringify({ v: `${'a'.repeat(29)}!` }), { qos: 1 });
    const pubackMs = performance.now() - t0;
    r.stop();
    const samples = await during;
    const rejected = emu.sql("SELECT reason_message FROM rejected_data").rows as Array<{ reason_message: string }>;
    await client.endAsync();
    await r.close();
    return { probe: 'regex', pubackMs: +pubackMs.toFixed(1), otherDeviceIdle: summary(before), otherDeviceDuring: summary(samples), rejected: rejected.map((x) => x.reason_message) };
  } finally {
    await emu.close();
  }
}

async function jqProbe(): Promise<Record<string, unknown>> {
  const emu = await startEmulator({ clock: 'system', adapterTimeLimit: 'PT0.1S' });
  try {
    const iotDomainId = emu.domain.id;
    const model = await post(emu, '/digitalTwinModels', {
      iotDomainId,
      spec: { '@context': ['dtmi:dtdl:context;3'], '@id': 'dtmi:com:example:runaway;1', '@type': 'Interface', contents: [{ '@type': 'Telemetry', name: 'n', schema: 'double' }] },
    });
    const adapter = await post(emu, '/digitalTwinAdapters', {
      iotDomainId,
      digitalTwinModelId: model.id,
      inboundEnvelope: { referenceEndpoint: 'loop' },
      inboundRoutes: [
        { condition: '${endpoint(1) == "loop"}', payloadMapping: { '$.n': '${def f: f; f}' } },
        { condition: '${endpoint(1) == "range"}', payloadMapping: { '$.n': '${[range(1e8)] | length}' } },
        { condition: '${endpoint(1) == "repeat"}', payloadMapping: { '$.n': '${"a" * (1e8 + .i) | length}' } },
      ],
    });
    const sender = await emu.createDevice({ digitalTwinAdapterId: adapter.id });
    const client = await connect(emu, sender);
    const r = await responder(emu);
    const before = await baseline(r);
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const during = r.loop();
    const t0 = performance.now();
    const topics = ['loop', 'range', 'repeat'];
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.publishAsync(topics[i % 3], JSON.stringify({ i }), { qos: 1 })));
    const pubacksMs = performance.now() - t0;
    const count = () => (emu.sql('SELECT count(*) AS n FROM rejected_data').rows[0] as { n: number }).n;
    while (count() < 20) await new Promise((res) => setTimeout(res, 20));
    const rejectedMs = performance.now() - t0;
    lag.disable();
    r.stop();
    const samples = await during;
    const reasons = emu.sql('SELECT reason_code, reason_message, count(*) AS n FROM rejected_data GROUP BY 1, 2').rows;
    await client.endAsync();
    await r.close();
    return {
      probe: 'jq',
      pubacksMs: +pubacksMs.toFixed(1),
      allRejectedMs: +rejectedMs.toFixed(1),
      otherDeviceIdle: summary(before),
      otherDeviceDuring: summary(samples),
      eventLoopDelayMs: { p50: +(lag.percentile(50) / 1e6).toFixed(1), p99: +(lag.percentile(99) / 1e6).toFixed(1), max: +(lag.max / 1e6).toFixed(1) },
      reasons,
    };
  } finally {
    await emu.close();
  }
}

const wanted = process.argv.slice(2);
const probes: Record<string, () => Promise<Record<string, unknown>>> = { regex: regexProbe, jq: jqProbe };
for (const name of wanted.length ? wanted : Object.keys(probes)) {
  const probe = probes[name];
  if (!probe) throw new Error(`unknown probe ${name}; known: ${Object.keys(probes).join(', ')}`);
  console.log(JSON.stringify(await probe()));
}
