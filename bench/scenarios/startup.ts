import { join } from 'node:path';
import type { BenchContext, Check, Row, Section } from '../lib/context.js';
import { judge, REPO_ROOT } from '../lib/context.js';
import { emulatorArgs, emulatorEnv } from '../lib/emulator.js';
import { fixed, markdownTable, ms, na, ratioText } from '../lib/format.js';
import { spawnMosquitto, writeMosquittoConfig } from '../lib/mosquitto.js';
import { freePort, waitForPorts } from '../lib/net.js';
import { cpuSeconds, rssKiB, sleep, spawnWrapped, stopChild } from '../lib/proc.js';
import { median, ratio } from '../lib/stats.js';

interface Settings {
  runs: number;
  idleMs: number;
}

const FULL: Settings = { runs: 5, idleMs: 2000 };
const QUICK: Settings = { runs: 2, idleMs: 1000 };

// Issue 14's goals, as ratios to the bare stack of the same run.
const TARGET_EXISTING_RATIO = 1.0;
const TARGET_IDLE_RATIO = 1.3;
const TARGET_IN_PROCESS_FIRST_MS = 250;
const TARGET_IN_PROCESS_LATER_MS = 50;

export interface InProcessRun {
  importMs: number;
  firstStartMs: number;
  laterStartMs: number;
}

/**
 * `import('oci-iot-emulator')` and two `startEmulator()` in one fresh process
 * (bench/servers/in-process.mjs), of dist/index.js or the `index` given.
 */
export async function timeInProcess(ctx: BenchContext, certsDir: string, index?: string): Promise<InProcessRun> {
  const script = join(REPO_ROOT, 'bench', 'servers', 'in-process.mjs');
  const proc = spawnWrapped(ctx.placement, 'server', process.execPath, [script, certsDir, ...(index ? [index] : [])], { cwd: REPO_ROOT });
  let out = '';
  proc.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => proc.child.once('exit', resolve));
  if (code !== 0) throw new Error(`in-process start-up exited with ${code}\n${proc.stderrTail()}`);
  return JSON.parse(out) as InProcessRun;
}

export interface StartRun {
  readyMs: number;
  /** CPU time the process used until it was ready: what start-up costs whatever else runs. */
  cpuMs: number;
  idleRssKiB: number;
}

/**
 * Starts a server and times it from spawn() to every port accepting a TCP connection
 * (polled every millisecond), then reads its RSS after `idleMs` of doing nothing.
 */
export async function timeStart(start: () => { pid: number; stop: () => Promise<void> }, ports: number[], idleMs: number): Promise<StartRun> {
  const t0 = performance.now();
  const proc = start();
  try {
    const ready = await waitForPorts(ports, 30_000);
    const cpuMs = cpuSeconds(proc.pid) * 1000;
    await sleep(idleMs);
    return { readyMs: ready - t0, cpuMs, idleRssKiB: rssKiB(proc.pid) };
  } finally {
    await proc.stop();
  }
}

const mb = (kib: number) => (kib * 1024) / 1e6;

export async function startupScenario(ctx: BenchContext, mosquitto: string | null): Promise<Section> {
  const s = ctx.quick ? QUICK : FULL;
  const startEmulator = (dataDir: string, certsDir: string, restPort: number, mqttPort: number) => () => {
    const proc = spawnWrapped(ctx.placement, 'server', process.execPath, emulatorArgs(ctx, { dataDir, certsDir, restPort, mqttPort }), { cwd: REPO_ROOT, env: emulatorEnv({}) });
    proc.child.stdout?.resume();
    return { pid: proc.pid, stop: () => stopChild(proc.child) };
  };

  // The bare stack: the same packages, a WAL database file and both listeners, nothing else.
  const startBare = (dataDir: string, certsDir: string, restPort: number, mqttPort: number) => () => {
    const script = join(REPO_ROOT, 'bench', 'servers', 'bare-stack.mjs');
    const proc = spawnWrapped(ctx.placement, 'server', process.execPath, [script, certsDir, dataDir, String(restPort), String(mqttPort)], { cwd: REPO_ROOT });
    proc.child.stdout?.resume();
    return { pid: proc.pid, stop: () => stopChild(proc.child) };
  };

  const fresh: StartRun[] = [];
  const existing: StartRun[] = [];
  const bareFresh: StartRun[] = [];
  const bareExisting: StartRun[] = [];
  let lastCerts = '';
  for (let i = 0; i < s.runs; i++) {
    const dir = ctx.tempDir('startup');
    lastCerts = join(dir, 'certs');
    const [rest, mqtt] = [await freePort(), await freePort()];
    // Fresh: no database and no certificates yet (a first `npx oci-iot-emulator` in CI).
    fresh.push(await timeStart(startEmulator(join(dir, 'data'), join(dir, 'certs'), rest, mqtt), [rest, mqtt], s.idleMs));
    existing.push(await timeStart(startEmulator(join(dir, 'data'), join(dir, 'certs'), rest, mqtt), [rest, mqtt], s.idleMs));
    // Right after the emulator's, so drift on a shared machine hits both alike.
    bareFresh.push(await timeStart(startBare(join(dir, 'bare'), join(dir, 'certs'), rest, mqtt), [rest, mqtt], s.idleMs));
    bareExisting.push(await timeStart(startBare(join(dir, 'bare'), join(dir, 'certs'), rest, mqtt), [rest, mqtt], s.idleMs));
    ctx.log(
      `startup run ${i + 1}: fresh ${ms(fresh[i].readyMs)}, existing ${ms(existing[i].readyMs)} (CPU ${ms(existing[i].cpuMs)}), idle RSS ${fixed(mb(existing[i].idleRssKiB))} MB; ` +
        `bare stack ${ms(bareExisting[i].readyMs)} (CPU ${ms(bareExisting[i].cpuMs)}), ${fixed(mb(bareExisting[i].idleRssKiB))} MB`,
    );
  }

  const inProcess: InProcessRun[] = [];
  for (let i = 0; i < s.runs; i++) {
    inProcess.push(await timeInProcess(ctx, lastCerts));
    const r = inProcess[i];
    ctx.log(`startup in-process run ${i + 1}: import ${ms(r.importMs)}, first start ${ms(r.firstStartMs)}, later start ${ms(r.laterStartMs)}`);
  }

  const mosq: StartRun[] = [];
  if (mosquitto) {
    // The emulator's own certificate (from the last run): same key type and chain for both.
    for (let i = 0; i < s.runs; i++) {
      const port = await freePort();
      const config = writeMosquittoConfig(ctx, mosquitto, lastCerts, port, [{ username: 'bench', password: 'bench-password' }]);
      mosq.push(await timeStart(() => spawnMosquitto(ctx, mosquitto, config, port), [port], s.idleMs));
      ctx.log(`startup mosquitto run ${i + 1}: ${ms(mosq[i].readyMs)}, idle RSS ${fixed(mb(mosq[i].idleRssKiB))} MB`);
    }
  }

  const med = (runs: StartRun[], key: keyof StartRun) => (runs.length ? median(runs.map((r) => r[key])) : NaN);
  const freshMs = med(fresh, 'readyMs');
  const existingMs = med(existing, 'readyMs');
  const mosqMs = med(mosq, 'readyMs');
  const bareFreshMs = med(bareFresh, 'readyMs');
  const bareMs = med(bareExisting, 'readyMs');
  const idleMb = mb(med(existing, 'idleRssKiB'));
  const bareMb = mb(med(bareExisting, 'idleRssKiB'));
  const mosqMb = mb(med(mosq, 'idleRssKiB'));
  // The bare stack is the ceiling the targets are ratios to; Mosquitto, a C broker with no
  // REST side, stays beside it for scale.
  const ceiling = (bare: string, mosqText: string) => `bare stack ${bare}; ${mosquitto ? `Mosquitto ${mosqText}` : 'Mosquitto n/a (not installed)'}`;
  const ratios = (value: number, bare: number, mosqValue: number) =>
    `${ratioText(ratio(value, bare))} bare stack${mosquitto ? `; ${ratioText(ratio(value, mosqValue))} Mosquitto` : ''}`;
  const existingRatio = ratio(existingMs, bareMs);
  const idleRatio = ratio(idleMb, bareMb);
  const rows: Row[] = [
    {
      measure: `Start-up to both listeners accepting, fresh data and certs dir (median of ${s.runs})`,
      emulator: `${ms(freshMs)} (CPU ${ms(med(fresh, 'cpuMs'))})`,
      ceiling: ceiling(`${ms(bareFreshMs)} (CPU ${ms(med(bareFresh, 'cpuMs'))})`, `${ms(mosqMs)} (CPU ${ms(med(mosq, 'cpuMs'))})`),
      ratio: ratios(freshMs, bareFreshMs, mosqMs),
      target: '',
      status: '',
    },
    {
      measure: 'Start-up to both listeners accepting, existing database',
      emulator: `${ms(existingMs)} (CPU ${ms(med(existing, 'cpuMs'))})`,
      ceiling: ceiling(`${ms(bareMs)} (CPU ${ms(med(bareExisting, 'cpuMs'))})`, `${ms(mosqMs)} (CPU ${ms(med(mosq, 'cpuMs'))})`),
      ratio: ratios(existingMs, bareMs, mosqMs),
      target: `≤ ${TARGET_EXISTING_RATIO.toFixed(1)}× bare stack`,
      status: judge(Number.isFinite(existingRatio) ? existingRatio <= TARGET_EXISTING_RATIO : null),
    },
    {
      measure: `Idle RSS (${s.idleMs / 1000} s after start-up)`,
      emulator: `${fixed(idleMb)} MB`,
      ceiling: ceiling(`${fixed(bareMb)} MB`, `${fixed(mosqMb)} MB`),
      ratio: ratios(idleMb, bareMb, mosqMb),
      target: `≤ ${TARGET_IDLE_RATIO.toFixed(1)}× bare stack`,
      status: judge(Number.isFinite(idleRatio) ? idleRatio <= TARGET_IDLE_RATIO : null),
    },
  ];
  const inProcessMed = (f: (r: InProcessRun) => number) => median(inProcess.map(f));
  const firstWithImport = inProcessMed((r) => r.importMs + r.firstStartMs);
  const later = inProcessMed((r) => r.laterStartMs);
  rows.push(
    {
      measure: 'In-process `startEmulator()`, first in a process, including the import',
      emulator: `${ms(firstWithImport)} (import ${ms(inProcessMed((r) => r.importMs))} + start ${ms(inProcessMed((r) => r.firstStartMs))})`,
      ceiling: '',
      ratio: '',
      target: `≤ ${TARGET_IN_PROCESS_FIRST_MS} ms`,
      status: judge(firstWithImport <= TARGET_IN_PROCESS_FIRST_MS),
    },
    {
      measure: 'In-process `startEmulator()`, a later start in the same process',
      emulator: ms(later),
      ceiling: '',
      ratio: '',
      target: `≤ ${TARGET_IN_PROCESS_LATER_MS} ms`,
      status: judge(later <= TARGET_IN_PROCESS_LATER_MS),
    },
  );
  const checks: Check[] = [
    { name: 'every emulator start reached both listeners', ok: fresh.length === s.runs && existing.length === s.runs, detail: `${fresh.length + existing.length} starts` },
    { name: 'every bare-stack start reached both listeners', ok: bareFresh.length === s.runs && bareExisting.length === s.runs, detail: `${bareFresh.length + bareExisting.length} starts` },
  ];
  const runRows = Array.from({ length: s.runs }, (_, i) => [
    String(i + 1),
    `${ms(fresh[i].readyMs)} (CPU ${ms(fresh[i].cpuMs)})`,
    `${ms(existing[i].readyMs)} (CPU ${ms(existing[i].cpuMs)})`,
    `${fixed(mb(existing[i].idleRssKiB))} MB`,
    `${ms(bareFresh[i].readyMs)} / ${ms(bareExisting[i].readyMs)} (CPU ${ms(bareExisting[i].cpuMs)})`,
    `${fixed(mb(bareExisting[i].idleRssKiB))} MB`,
    mosq[i] ? `${ms(mosq[i].readyMs)} (CPU ${ms(mosq[i].cpuMs)})` : na,
    mosq[i] ? `${fixed(mb(mosq[i].idleRssKiB))} MB` : na,
  ]);
  const details = [
    'Time from spawn() of `node dist/cli.js start` (or `node bench/servers/bare-stack.mjs`, or `mosquitto -c`) to every port accepting a TCP connection, polled every millisecond, with the CPU time the process had used by then (10 ms resolution); MB = 10^6 bytes of VmRSS.',
    'The bare stack imports Aedes, Fastify and better-sqlite3, opens a WAL database file and listens with Aedes over TLS (the emulator\'s certificate) and Fastify over HTTP, nothing else, from node_modules as they are (not bundled, as issue 14 defines it; the emulator\'s dist/cli.js is one bundled file).',
    `In-process: a fresh \`node\` imports dist/index.js and calls the programmatic \`startEmulator()\` twice (temporary database, ports 0, the CA made beforehand), closing each; wall time on its own clock. Runs: ${inProcess.map((r) => `${ms(r.importMs)} + ${ms(r.firstStartMs)}, later ${ms(r.laterStartMs)}`).join('; ')}.`,
    '',
    markdownTable(
      ['run', 'emulator fresh', 'emulator existing', 'emulator idle RSS', 'bare stack fresh / existing', 'bare stack idle RSS', 'Mosquitto', 'Mosquitto idle RSS'],
      runRows,
    ),
  ].join('\n');
  return { id: 'startup', title: 'Start-up', rows, checks, details };
}
