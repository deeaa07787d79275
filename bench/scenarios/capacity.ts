import { join } from 'node:path';
import type { BenchContext, Check, Row, Section } from '../lib/context.js';
import { judge } from '../lib/context.js';
import { EmulatorDb } from '../lib/db.js';
import { startEmulatorProcess } from '../lib/emulator.js';
import { fixed, int, mib, ms, pct, rate, ratioText } from '../lib/format.js';
import { startLoad, type LoadProcess } from '../lib/load.js';
import { cpuMeter, hardFileLimit, rssKiB, sleep } from '../lib/proc.js';
import { provisionDevices } from '../lib/provision.js';
import { startCeiling } from '../lib/servers.js';
import { ratio, type Percentiles } from '../lib/stats.js';
import { COMMAND_TOPIC, type ConnectResult, type DeviceCred, type InvokeResult } from '../load/protocol.js';

interface Settings {
  total: number;
  first: number;
  parallel: number;
  rate: number;
  warmupMs: number;
  measureMs: number;
  settleMs: number;
}

// The latency probe runs at a fixed, modest rate (well under saturation on a small
// machine) so that the 1,000 and 10,000 runs do the same work and queueing does not
// swamp what the number of connected devices does.
const FULL: Settings = { total: 10_000, first: 1000, parallel: 100, rate: 200, warmupMs: 2000, measureMs: 5000, settleMs: 2000 };
const QUICK: Settings = { total: 1000, first: 100, parallel: 50, rate: 100, warmupMs: 300, measureMs: 2000, settleMs: 500 };

const TARGET_KIB_PER_DEVICE = 64;
const TARGET_LATENCY_GROWTH = 1.5;

interface Ramp {
  first: ConnectResult;
  rest: ConnectResult;
  /** RSS (KiB) with no device, with `first` and with all connected. */
  rss0: number;
  rssFirst: number;
  rssAll: number;
  cpu: number;
}

const connectedPerSecond = (r: Ramp) => (r.first.connected + r.rest.connected) / ((r.first.elapsedMs + r.rest.elapsedMs) / 1000);
/** Marginal memory of a device: the growth from `first` to all connected, per added device. */
const kibPerDevice = (r: Ramp) => (r.rssAll - r.rssFirst) / Math.max(1, r.rest.connected);

async function ramp(
  load: LoadProcess,
  pid: number,
  url: string,
  caFile: string,
  devices: DeviceCred[],
  s: Settings,
  between: () => Promise<void>,
): Promise<Ramp> {
  const connect = (list: DeviceCred[]) => load.call('connect', { url, caFile, devices: list, parallel: s.parallel, subscribe: COMMAND_TOPIC });
  const rss0 = rssKiB(pid);
  const meter = cpuMeter(pid);
  const first = await connect(devices.slice(0, s.first));
  await sleep(s.settleMs);
  const rssFirst = rssKiB(pid);
  await between();
  const rest = await connect(devices.slice(s.first));
  const cpu = meter();
  await sleep(s.settleMs);
  return { first, rest, rss0, rssFirst, rssAll: rssKiB(pid), cpu };
}

export async function capacityScenario(ctx: BenchContext): Promise<Section> {
  const wanted = ctx.quick ? QUICK : FULL;
  // Each device is one socket in the server and one in the load process, plus some spare.
  const fdLimit = hardFileLimit();
  const total = Math.min(wanted.total, Math.max(500, Math.floor((fdLimit - 1000) / 1000) * 1000));
  const s = { ...wanted, total, first: Math.min(wanted.first, total / 2) };
  const limitNote = total < wanted.total ? ` Only ${int(total)} of ${int(wanted.total)} devices: the hard open-file limit is ${fdLimit} (raise it with \`ulimit -Hn\` as root).` : '';
  if (limitNote) ctx.log(`capacity:${limitNote}`);
  const commandRate = s.rate;
  const dir = ctx.tempDir('capacity');
  const certsDir = join(dir, 'certs');
  ctx.log(`capacity: provisioning ${int(s.total)} devices`);
  const emu = await startEmulatorProcess(ctx, { dataDir: join(dir, 'data'), certsDir, profileName: 'capacity' });
  const load = startLoad(ctx);
  const checks: Check[] = [];
  let emuRamp: Ramp;
  // Filled in as the probes run (one of them from inside the ramp).
  const probe: { lat1?: InvokeResult; db1?: Percentiles; lat10?: InvokeResult; db10?: Percentiles } = {};
  let provisionMs = 0;
  let devices: DeviceCred[] = [];
  let aedesRamp: Ramp;
  // The same first batch again over MQTT on secure WebSockets, beside the TLS rate.
  let wss: ConnectResult | null = null;
  try {
    try {
      ({ devices, elapsedMs: provisionMs } = await provisionDevices(emu.restUrl, emu.domainId, s.total, 64));
      ctx.log(`capacity: provisioned in ${ms(provisionMs)}; connecting to the emulator`);
      const db = new EmulatorDb(emu.databaseFile);
      const latency = (targets: number) =>
        load.call('openLoop', { restUrl: emu.restUrl, twoWay: true, targets, rate: commandRate, warmupMs: s.warmupMs, measureMs: s.measureMs });
      try {
        emuRamp = await ramp(load, emu.pid, `mqtts://127.0.0.1:${emu.mqttPort}`, emu.caFile, devices, s, async () => {
          probe.lat1 = await latency(s.first);
          probe.db1 = db.latency(probe.lat1.windowIds);
          ctx.log(`capacity: ${int(s.first)} connected, latency ${pct(probe.lat1.latency)}; connecting the rest`);
        });
        probe.lat10 = await latency(s.total);
        probe.db10 = db.latency(probe.lat10.windowIds);
        ctx.log(`capacity: ${int(emuRamp.first.connected + emuRamp.rest.connected)} connected at ${rate(connectedPerSecond(emuRamp))}, latency ${pct(probe.lat10.latency)}`);
        const unfinished = db.unfinished();
        const completed = db.statusCounts().find((c) => c.twoWay && c.status === 'COMPLETED')?.count ?? 0;
        const runs = [probe.lat1, probe.lat10].filter((r): r is InvokeResult => r !== undefined);
        const accepted = runs.reduce((n, r) => n + r.accepted, 0);
        checks.push(
          {
            name: `all ${int(s.total)} devices connected and subscribed to the emulator`,
            ok: emuRamp.first.connected + emuRamp.rest.connected === s.total,
            detail: `${int(emuRamp.first.connected + emuRamp.rest.connected)} connected, ${emuRamp.first.failed + emuRamp.rest.failed} failed${emuRamp.rest.firstError ? `: ${emuRamp.rest.firstError}` : ''}`,
          },
          {
            name: 'every latency-probe command accepted and COMPLETED',
            ok: runs.every((r) => r.httpErrors === 0 && r.lost === 0) && completed === accepted && unfinished === 0,
            detail: `${int(accepted)} accepted, ${int(completed)} COMPLETED, ${unfinished} unfinished, ${runs.reduce((n, r) => n + r.lost, 0)} lost`,
          },
        );
      } finally {
        db.close();
      }
      await load.call('disconnect', {});
      if (emu.httpsPort !== null) {
        wss = await load.call('connect', { url: `wss://127.0.0.1:${emu.httpsPort}/mqtt`, caFile: emu.caFile, devices: devices.slice(0, s.first), parallel: s.parallel, subscribe: COMMAND_TOPIC });
        ctx.log(`capacity: ${int(wss.connected)} connected over WSS at ${rate(wss.perSecond)}`);
        checks.push({
          name: `the first ${int(s.first)} devices connected and subscribed over WSS`,
          ok: wss.connected === s.first,
          detail: `${int(wss.connected)} connected, ${wss.failed} failed${wss.firstError ? `: ${wss.firstError}` : ''}`,
        });
        await load.call('disconnect', {});
      }
    } finally {
      await emu.stop();
    }

    ctx.log('capacity: bare Aedes ceiling');
    const aedes = await startCeiling(ctx, 'bare-aedes', [certsDir]);
    try {
      aedesRamp = await ramp(load, aedes.pid, `mqtts://127.0.0.1:${aedes.port}`, join(certsDir, 'ca.pem'), devices, s, async () => {});
      await load.call('disconnect', {});
    } finally {
      await aedes.stop();
    }
    checks.push({
      name: `all ${int(s.total)} devices connected to bare Aedes`,
      ok: aedesRamp.first.connected + aedesRamp.rest.connected === s.total,
      detail: `${int(aedesRamp.first.connected + aedesRamp.rest.connected)} connected`,
    });
  } finally {
    await load.stop();
  }

  const { lat1: l1, lat10: l10, db1, db10 } = probe;
  const growth50 = ratio(l10?.latency.p50 ?? NaN, l1?.latency.p50 ?? NaN);
  const growth99 = ratio(l10?.latency.p99 ?? NaN, l1?.latency.p99 ?? NaN);
  const emuKib = kibPerDevice(emuRamp);
  const aedesKib = kibPerDevice(aedesRamp);
  const rows: Row[] = [
    {
      measure: `TLS devices connected + subscribed per second (ramp to ${int(s.total)}, ${s.parallel} at a time)`,
      emulator: `${rate(connectedPerSecond(emuRamp))} (emulator CPU ${fixed(emuRamp.cpu * 100, 0)} %)`,
      ceiling: `bare Aedes ${rate(connectedPerSecond(aedesRamp))} (CPU ${fixed(aedesRamp.cpu * 100, 0)} %)`,
      ratio: ratioText(ratio(connectedPerSecond(emuRamp), connectedPerSecond(aedesRamp))),
      target: '',
      status: '',
    },
    {
      measure: `WSS (/mqtt) devices connected + subscribed per second (first ${int(s.first)}, ${s.parallel} at a time)`,
      emulator: wss ? `${rate(wss.perSecond)} (TLS first ${int(s.first)}: ${rate(emuRamp.first.perSecond)})` : 'n/a',
      ceiling: 'n/a',
      ratio: wss ? `${ratioText(ratio(wss.perSecond, emuRamp.first.perSecond))} of TLS` : 'n/a',
      target: '',
      status: '',
    },
    {
      measure: `RSS per connected device (${int(s.first)} → ${int(s.total)} devices)`,
      emulator: `${fixed(emuKib)} KiB (${mib(emuRamp.rssAll)} at ${int(s.total)})`,
      ceiling: `bare Aedes ${fixed(aedesKib)} KiB (${mib(aedesRamp.rssAll)})`,
      ratio: ratioText(ratio(emuKib, aedesKib)),
      target: `≤ ${TARGET_KIB_PER_DEVICE} KiB`,
      status: judge(Number.isFinite(emuKib) ? emuKib <= TARGET_KIB_PER_DEVICE : null),
    },
    {
      measure: `Two-way latency p50 / p95 / p99 at ${rate(commandRate)}: ${int(s.first)} vs ${int(s.total)} devices connected`,
      emulator: `${l1 ? pct(l1.latency) : 'n/a'} vs ${l10 ? pct(l10.latency) : 'n/a'}`,
      ceiling: 'n/a',
      ratio: `p50 ${ratioText(growth50)}, p99 ${ratioText(growth99)}`,
      target: `p50 within ${TARGET_LATENCY_GROWTH}×`,
      status: judge(Number.isFinite(growth50) ? growth50 <= TARGET_LATENCY_GROWTH : null),
    },
  ];
  const rampLine = (name: string, r: Ramp) =>
    `${name}: first ${int(r.first.connected)} at ${rate(r.first.perSecond)} (connect→SUBACK ${pct(r.first.latency)}), next ${int(r.rest.connected)} at ${rate(r.rest.perSecond)} (${pct(r.rest.latency)}, load CPU ${fixed(r.rest.loadCpu * 100, 0)} %); RSS ${mib(r.rss0)} with none, ${mib(r.rssFirst)} with ${int(s.first)}, ${mib(r.rssAll)} with ${int(s.total)}.`;
  const details = [
    `${int(s.total)} devices provisioned over REST (secret + instance each, 64 calls in flight) in ${ms(provisionMs)}.${limitNote}`,
    '',
    `- ${rampLine('Emulator', emuRamp)}`,
    `- ${rampLine('Bare Aedes (in-memory persistence, TLS, no hooks)', aedesRamp)}`,
    ...(wss ? [`- Emulator over WSS (wss://…/mqtt, same devices): ${int(wss.connected)} at ${rate(wss.perSecond)} (connect→SUBACK ${pct(wss.latency)}, load CPU ${fixed(wss.loadCpu * 100, 0)} %).`] : []),
    `- Latency probe (open loop, two-way, ${rate(commandRate)}, ${s.measureMs / 1000} s) with ${int(s.first)} connected: client ${l1 ? pct(l1.latency) : 'n/a'}, DB ${db1 ? pct(db1) : 'n/a'}; with ${int(s.total)}: client ${l10 ? pct(l10.latency) : 'n/a'}, DB ${db10 ? pct(db10) : 'n/a'}.`,
    '',
    'RSS per device is the growth of the process RSS (/proc/<pid>/status) from the first batch to all connected, divided by the devices added; it includes TLS socket buffers, the MQTT client state and (emulator) the session rows cached by SQLite.',
  ].join('\n');
  return { id: 'capacity', title: 'Device capacity', rows, checks, details };
}
