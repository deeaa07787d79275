import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, Check, Row, Section } from '../lib/context.js';
import { judge, RESULTS_DIR } from '../lib/context.js';
import { EmulatorDb } from '../lib/db.js';
import { startEmulatorProcess } from '../lib/emulator.js';
import { fixed, int, markdownTable, pct } from '../lib/format.js';
import { startLoad } from '../lib/load.js';
import { cpuMeter, rssKiB, sleep } from '../lib/proc.js';
import { provisionDevices } from '../lib/provision.js';
import { median } from '../lib/stats.js';
import { linePanelsSvg } from '../lib/svg.js';
import { COMMAND_TOPIC, type SoakSample, type SoakTotals } from '../load/protocol.js';

export interface SoakSettings {
  durationMs: number;
  /** How often RSS, latency and database size are read (30 s unless the runner says otherwise). */
  sampleMs: number;
  devices: number;
  commandRate: number;
  telemetryRate: number;
}

export const SOAK_DEFAULTS = { sampleMs: 30_000, devices: 100, commandRate: 100, telemetryRate: 200 };

// Issue 14's soak goal: RSS and p99 flat after warm-up. "Flat" here: the median of the
// last third of the samples within these factors of the median of the first third.
const RSS_DRIFT_LIMIT = 1.1;
const P99_DRIFT_LIMIT = 1.5;

interface Point {
  sample: SoakSample;
  rssMb: number;
  dbMb: number;
  emulatorCpu: number;
}

/** Parses `90s`, `10m`, `2h` (or plain seconds) into milliseconds. */
export function parseSoakDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--soak=${text}: expected a duration such as 90s, 10m or 2h`);
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
  if (ms < 1000) throw new Error(`--soak=${text}: shorter than a second`);
  return ms;
}

const fileMb = (path: string) => {
  try {
    return statSync(path).size / 1e6;
  } catch {
    return 0;
  }
};

/** Database file + its WAL: what the emulator has on disk. */
const databaseMb = (file: string) => fileMb(file) + fileMb(`${file}-wal`);

/**
 * Steady two-way commands and telemetry for a long time, sampling the emulator's RSS,
 * client latency and database size, to show whether anything grows that should not.
 */
export async function soakScenario(ctx: BenchContext, s: SoakSettings): Promise<Section> {
  const dir = ctx.tempDir('soak');
  const emu = await startEmulatorProcess(ctx, { dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), profileName: 'soak' });
  const load = startLoad(ctx);
  const db = new EmulatorDb(emu.databaseFile);
  const points: Point[] = [];
  try {
    const { devices } = await provisionDevices(emu.restUrl, emu.domainId, s.devices);
    const conn = await load.call('connect', { url: `mqtts://127.0.0.1:${emu.mqttPort}`, caFile: emu.caFile, devices, parallel: 50, subscribe: COMMAND_TOPIC });
    if (conn.failed) throw new Error(`${conn.failed} devices did not connect: ${conn.firstError}`);
    ctx.log(`soak: ${s.devices} devices connected; ${s.commandRate} two-way commands/s and ${s.telemetryRate} telemetry publishes/s for ${fixed(s.durationMs / 60_000)} min, sampled every ${s.sampleMs / 1000} s`);
    await load.call('soakStart', { restUrl: emu.restUrl, commandRate: s.commandRate, telemetryRate: s.telemetryRate, payloadBytes: 64 });
    const t0 = performance.now();
    let meter = cpuMeter(emu.pid);
    for (let k = 1; k * s.sampleMs <= s.durationMs; k++) {
      await sleep(Math.max(0, t0 + k * s.sampleMs - performance.now()));
      const sample = await load.call('soakSample', {});
      const point = { sample, rssMb: (rssKiB(emu.pid) * 1024) / 1e6, dbMb: databaseMb(emu.databaseFile), emulatorCpu: meter() };
      meter = cpuMeter(emu.pid);
      points.push(point);
      ctx.log(
        `soak ${fixed(sample.atMs / 60_000)} min: RSS ${fixed(point.rssMb)} MB, commands ${pct(sample.commandLatency)}, ` +
          `telemetry ${pct(sample.telemetryLatency)}, db ${fixed(point.dbMb)} MB, emulator CPU ${fixed(point.emulatorCpu * 100, 0)} %, in flight ${sample.inFlight}`,
      );
    }
    const totals = await load.call('soakStop', {});
    await sleep(200); // the last PUBACKs' rows are committed before the PUBACK; this is only for the WAL reader's snapshot
    return report(ctx, s, points, totals, db);
  } finally {
    db.close();
    await load.stop();
    await emu.stop();
  }
}

/** The median of the first third of the samples, of the last third, and their ratio. */
function drift(values: number[]): { first: number; last: number; ratio: number } {
  const third = Math.max(1, Math.floor(values.length / 3));
  const first = median(values.slice(0, third));
  const last = median(values.slice(-third));
  return { first, last, ratio: last / first };
}

function report(
  ctx: BenchContext,
  s: SoakSettings,
  all: Point[],
  totals: SoakTotals,
  db: EmulatorDb,
): Section {
  // The first sample holds JIT warm-up, connection set-up and the heap's first growth.
  const steady = all.length > 2 ? all.slice(1) : all;
  const rssDrift = drift(steady.map((p) => p.rssMb));
  const p99Drift = drift(steady.map((p) => p.sample.commandLatency.p99));
  const counts = db.statusCounts();
  const completed = counts.find((c) => c.twoWay && c.status === 'COMPLETED');
  const rows = counts.reduce((n, c) => n + c.count, 0);
  const unfinished = db.unfinished();
  const rawData = db.rawDataRows();
  const events = db.eventCounts();

  const checks: Check[] = [
    { name: 'every invoke accepted (202)', ok: totals.httpErrors === 0, detail: `${int(totals.commandsAccepted)} of ${int(totals.commandsIssued)}${totals.firstError ? `; first error: ${totals.firstError}` : ''}` },
    { name: 'every command seen complete by its device', ok: totals.commandsLost === 0, detail: `${int(totals.commandsLost)} lost` },
    { name: 'no command left PENDING/SENT', ok: unfinished === 0, detail: `${unfinished} unfinished` },
    { name: 'database rows = accepted invokes, all COMPLETED with a response', ok: rows === totals.commandsAccepted && (completed?.withResponse ?? 0) === totals.commandsAccepted, detail: `${int(rows)} rows, ${int(completed?.withResponse ?? 0)} COMPLETED with a response` },
    { name: 'command_events: 4 per command', ok: events.twoWay === 4 * totals.commandsAccepted, detail: `${int(events.twoWay)} events` },
    { name: 'every acknowledged telemetry publish a raw_data row', ok: totals.telemetryErrors === 0 && rawData === totals.telemetryAcked, detail: `${int(rawData)} rows, ${int(totals.telemetryAcked)} acknowledged of ${int(totals.telemetrySent)} sent, ${totals.telemetryErrors} errors` },
  ];

  const summary: Row[] = [
    {
      measure: `Soak RSS drift (${fixed(s.durationMs / 60_000)} min, median of the last third ÷ of the first third, after the first sample)`,
      emulator: `${fixed(rssDrift.first)} → ${fixed(rssDrift.last)} MB`,
      ceiling: '',
      ratio: `${fixed(rssDrift.ratio, 2)}×`,
      target: `≤ ${RSS_DRIFT_LIMIT}×`,
      status: judge(Number.isFinite(rssDrift.ratio) ? rssDrift.ratio <= RSS_DRIFT_LIMIT : null),
    },
    {
      measure: 'Soak client p99 drift (two-way commands; median of the 30 s p99s, last third ÷ first third; worst 30 s in the table)',
      emulator: `${fixed(p99Drift.first)} → ${fixed(p99Drift.last)} ms (worst ${fixed(Math.max(...steady.map((p) => p.sample.commandLatency.p99)))} ms)`,
      ceiling: '',
      ratio: `${fixed(p99Drift.ratio, 2)}×`,
      target: `≤ ${P99_DRIFT_LIMIT}×`,
      status: judge(Number.isFinite(p99Drift.ratio) ? p99Drift.ratio <= P99_DRIFT_LIMIT : null),
    },
  ];

  const table = markdownTable(
    ['min', 'RSS', 'commands/s', 'command p50 / p95 / p99', 'telemetry/s', 'telemetry PUBACK p50 / p95 / p99', 'in flight', 'database + WAL', 'emulator CPU'],
    all.map((p) => [
      fixed(p.sample.atMs / 60_000),
      `${fixed(p.rssMb)} MB`,
      int(p.sample.commandsCompleted / (p.sample.intervalMs / 1000)),
      pct(p.sample.commandLatency),
      int(p.sample.telemetryAcked / (p.sample.intervalMs / 1000)),
      pct(p.sample.telemetryLatency),
      int(p.sample.inFlight),
      `${fixed(p.dbMb)} MB`,
      `${fixed(p.emulatorCpu * 100, 0)} %`,
    ]),
  );

  const minutes = (p: Point) => p.sample.atMs / 60_000;
  const svg = linePanelsSvg({
    title: `oci-iot-emulator soak: ${s.commandRate} two-way commands/s + ${s.telemetryRate} telemetry/s, ${s.devices} TLS devices`,
    subtitle: `${new Date().toISOString()} · sampled every ${s.sampleMs / 1000} s`,
    xLabel: 'minutes since the load started',
    panels: [
      { title: 'Emulator RSS', unit: 'MB', series: [{ name: 'RSS', color: '#1f77b4', points: all.map((p) => [minutes(p), p.rssMb]) }] },
      {
        title: 'Two-way command latency, client clock',
        unit: 'ms',
        series: [
          { name: 'p50', color: '#2ca02c', points: all.map((p) => [minutes(p), p.sample.commandLatency.p50]) },
          { name: 'p99', color: '#d62728', points: all.map((p) => [minutes(p), p.sample.commandLatency.p99]) },
        ],
      },
      { title: 'Database + WAL on disk', unit: 'MB', series: [{ name: 'size', color: '#9467bd', points: all.map((p) => [minutes(p), p.dbMb]) }] },
    ],
  });
  const svgFile = join(RESULTS_DIR, 'soak.svg');
  writeFileSync(svgFile, svg);
  ctx.log(`soak: plot written to ${svgFile}`);

  const details = [
    `${s.devices} TLS devices answer two-way commands (invoked over HTTP in an open loop at ${s.commandRate}/s) and publish QoS 1 telemetry (${s.telemetryRate}/s in all, 64 bytes); every ${s.sampleMs / 1000} s the runner reads the emulator's RSS (VmRSS, MB = 10^6 bytes), the size of its database file and WAL, and the latency of what completed in the interval. Latency runs on the load process's clock from the command's scheduled time (telemetry: from the publish) to the device seeing it complete (the PUBACK).`,
    '',
    table,
    '',
    `Plot: \`bench/results/soak.svg\`. Totals: ${int(totals.commandsCompleted)} commands completed, ${int(totals.telemetryAcked)} telemetry rows.`,
  ].join('\n');
  return { id: 'soak', title: 'Soak', rows: summary, checks, details };
}
