/**
 * `npx tsx bench/compare.ts --before=<cli.js> --after=<cli.js> --name=<stem> [--workload=commands|telemetry|startup|in-process] [--rounds=3] [--profile] [--ceiling]`
 *
 * A/B of two emulator builds, for before/after records of a fix. Rounds alternate the
 * order of the builds so drift on a shared machine hits both. `--profile` also writes a CPU
 * profile of every emulator run to bench/results/profiles/; profile tsc's module tree
 * (bench/.modules/dist/cli.js, which `npm run bench -- --profile` compiles), as the bundled
 * dist/cli.js names no package. The figure to compare is
 * emulator CPU per unit of work, which other work on the machine moves much less than
 * rates do. Writes bench/results/<stem>.md.
 *
 * - commands: 100 TLS devices (--devices), two-way commands; an open loop at a fixed rate
 *   (the same work for both builds) and a closed loop at concurrency 16 (--concurrency, or a
 *   list: --concurrency=16,64). --ceiling also runs two-way-min (bench/servers/two-way-min.mjs,
 *   the floor of the same command on the same stack) in every round, and reports each build's
 *   CPU per command as a ratio to its (issue 25's goals: c=64 ≥ 0.7×, c=16 ≥ 0.6×).
 * - telemetry: 20 TLS devices × 10 QoS 1 publishes in flight.
 * - startup: `cli.js start` on an existing data and certs dir, timed from spawn to both
 *   listeners accepting (--starts per round, 4 unless given), with the CPU it used by then
 *   and its idle RSS; CPU per start is the figure to compare.
 * - in-process: bench/servers/in-process.mjs with the index.js beside each cli.js (import,
 *   first `startEmulator()`, a later one), --starts processes per build per round, pinned
 *   like the process under test in `npm run bench`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createContext, RESULTS_DIR } from './lib/context.js';
import { startEmulatorProcess, type EmulatorProcess } from './lib/emulator.js';
import { fixed, int, markdownTable, pct } from './lib/format.js';
import { startLoad, type LoadProcess } from './lib/load.js';
import { describeMachine, machineBusy } from './lib/machine.js';
import { canPin, cpuWindow, pinSelf } from './lib/proc.js';
import { provisionDevices } from './lib/provision.js';
import { median } from './lib/stats.js';
import { COMMAND_TOPIC } from './load/protocol.js';
import { emulatorArgs } from './lib/emulator.js';
import { freePort } from './lib/net.js';
import { spawnWrapped, stopChild } from './lib/proc.js';
import { timeInProcess, timeStart, type InProcessRun, type StartRun } from './scenarios/startup.js';
import { REPO_ROOT } from './lib/context.js';
import { startTwoWayMin } from './lib/two-way-min.js';
import { ratio } from './lib/stats.js';

const opts = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split(/=(.*)/s, 2) as [string, string]));
if (!opts.before || !opts.after || !opts.name) {
  process.stderr.write('usage: tsx bench/compare.ts --before=<cli.js> --after=<cli.js> --name=<stem> [--workload=commands|telemetry|startup|in-process] [--rounds=3] [--rate=200] [--concurrency=16] [--devices=100] [--starts=4] [--profile]\n');
  process.exit(2);
}
const workload = opts.workload === 'telemetry' || opts.workload === 'startup' || opts.workload === 'in-process' ? opts.workload : 'commands';
const rounds = Number(opts.rounds ?? 3);
const fixedRate = Number(opts.rate ?? 200);
// The closed loop's concurrency: higher shows what is shared between requests in flight (group commit).
const concurrencies = String(opts.concurrency ?? 16).split(',').map(Number);
const withCeiling = 'ceiling' in opts && (opts.workload ?? 'commands') === 'commands';
// Fewer devices give each a longer command history, for fixes whose effect grows with it.
const commandDevices = Number(opts.devices ?? 100);
const WARMUP_MS = 1000;
const MEASURE_MS = 5000;

type Variant = 'before' | 'after' | 'min';

/** One measured figure of a run: work per second and emulator CPU per unit of work. */
interface Figure {
  perSecond: number;
  cpuPerUnitUs: number;
  cpu: number;
  note: string;
}

interface Run {
  variant: Variant;
  round: number;
  figures: Figure[];
}

const WORKLOADS = {
  commands: {
    devices: commandDevices,
    subscribe: COMMAND_TOPIC,
    labels: [`open loop ${fixedRate}/s`, ...concurrencies.map((c) => `closed loop c=${c}`)],
    unit: 'command',
    async measure(emu: Pick<EmulatorProcess, 'pid' | 'restUrl'>, load: LoadProcess, devices: number): Promise<Figure[]> {
      const base = { restUrl: emu.restUrl, twoWay: true, targets: devices, warmupMs: WARMUP_MS, measureMs: MEASURE_MS };
      let cpu = cpuWindow(emu.pid, WARMUP_MS, MEASURE_MS);
      const open = await load.call('openLoop', { ...base, rate: fixedRate });
      const openCpu = await cpu;
      const figures: Figure[] = [{ perSecond: open.perSecond, cpu: openCpu, cpuPerUnitUs: (openCpu * 1e6) / open.perSecond, note: `client ${pct(open.latency)}` }];
      for (const concurrency of concurrencies) {
        cpu = cpuWindow(emu.pid, WARMUP_MS, MEASURE_MS);
        const closed = await load.call('closedLoop', { ...base, concurrency });
        const closedCpu = await cpu;
        figures.push({ perSecond: closed.perSecond, cpu: closedCpu, cpuPerUnitUs: (closedCpu * 1e6) / closed.perSecond, note: `client ${pct(closed.latency)}` });
      }
      return figures;
    },
  },
  telemetry: {
    devices: 20,
    subscribe: null,
    labels: ['10 in flight per device'],
    unit: 'row',
    async measure(emu: Pick<EmulatorProcess, 'pid' | 'restUrl'>, load: LoadProcess): Promise<Figure[]> {
      const cpu = cpuWindow(emu.pid, WARMUP_MS, MEASURE_MS);
      const t = await load.call('telemetry', { windowPerDevice: 10, payloadBytes: 64, warmupMs: WARMUP_MS, measureMs: MEASURE_MS, observer: null });
      const c = await cpu;
      return [{ perSecond: t.ackPerSecond, cpu: c, cpuPerUnitUs: (c * 1e6) / t.ackPerSecond, note: `${t.errors} errors` }];
    },
  },
} as const;

// --profile: CPU profiles of every emulator run, bench/results/profiles/<name>-<build>-r<round>.cpuprofile.
const profileDir = 'profile' in opts ? join(RESULTS_DIR, 'profiles') : null;
if (profileDir) mkdirSync(profileDir, { recursive: true });
const ctx = createContext({ quick: true, placement: { pin: canPin() }, profileDir });
const busy = await machineBusy(2000);
pinSelf(ctx.placement);
if (workload === 'startup') {
  await compareStartup();
  process.exit(0);
}
if (workload === 'in-process') {
  await compareInProcess();
  process.exit(0);
}
const w = WORKLOADS[workload];

const runs: Run[] = [];

async function runOnce(variant: Variant, round: number): Promise<Run> {
  if (variant === 'min') return runCeiling(round);
  const dir = ctx.tempDir('compare');
  const emu = await startEmulatorProcess(ctx, {
    dataDir: join(dir, 'data'),
    certsDir: join(dir, 'certs'),
    cli: resolve(opts[variant]),
    profileName: `${opts.name}-${variant}-r${round}`,
  });
  const load = startLoad(ctx);
  try {
    const { devices } = await provisionDevices(emu.restUrl, emu.domainId, w.devices);
    await load.call('connect', { url: `mqtts://127.0.0.1:${emu.mqttPort}`, caFile: emu.caFile, devices, parallel: 50, subscribe: w.subscribe });
    return { variant, round, figures: await w.measure(emu, load, w.devices) };
  } finally {
    await load.stop();
    await emu.stop();
  }
}

/** two-way-min under the same load as the builds. */
async function runCeiling(round: number): Promise<Run> {
  const min = await startTwoWayMin(ctx, w.devices, `${opts.name}-min-r${round}`);
  const load = startLoad(ctx);
  try {
    await load.call('connect', { url: `mqtts://127.0.0.1:${min.mqttPort}`, caFile: min.caFile, devices: min.devices, parallel: 50, subscribe: w.subscribe });
    return { variant: 'min', round, figures: await w.measure(min, load, w.devices) };
  } finally {
    await load.stop();
    await min.stop();
  }
}

const variants: Variant[] = withCeiling ? ['before', 'after', 'min'] : ['before', 'after'];

try {
  for (let round = 1; round <= rounds; round++) {
    const order: Variant[] = round % 2 ? variants : [...variants].reverse();
    for (const variant of order) {
      const run = await runOnce(variant, round);
      runs.push(run);
      ctx.log(`round ${round} ${variant}: ${run.figures.map((f) => `${int(f.perSecond)}/s at ${int(f.cpuPerUnitUs)} µs/${w.unit}`).join('; ')}`);
    }
  }
} finally {
  ctx.cleanup();
}

const cells = (f: Figure) => [int(f.perSecond), `${int(f.cpuPerUnitUs)} µs`, `${fixed(f.cpu * 100, 0)} %`, f.note];
const header = w.labels.flatMap((l) => [`${l}: /s`, `CPU per ${w.unit}`, 'emulator CPU', 'note']);
const med = (v: Variant, i: number, f: (x: Figure) => number) => median(runs.filter((r) => r.variant === v).map((r) => f(r.figures[i])));
const summary = variants.map((v) => [
  v,
  ...w.labels.flatMap((_, i) => [int(med(v, i, (f) => f.perSecond)), `${int(med(v, i, (f) => f.cpuPerUnitUs))} µs`]),
]);
const machine = describeMachine();
const text = [
  `# ${opts.name}: before / after (${workload})`,
  '',
  `${new Date().toISOString()} · ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB, Node ${machine.node} · other work: ${(busy * 100).toFixed(0)} % of all cores busy before the run.`,
  `before: \`${opts.before}\`, after: \`${opts.after}\`${withCeiling ? ', min: bench/servers/two-way-min.mjs' : ''}; ${w.devices} TLS devices; ${MEASURE_MS / 1000} s measured after ${WARMUP_MS / 1000} s warm-up; ${rounds} rounds, alternating order. Rates move with other work on the machine; CPU per ${w.unit} is the figure to compare.`,
  '',
  'Medians:',
  '',
  markdownTable(['build', ...w.labels.flatMap((l) => [`${l}: /s`, `CPU per ${w.unit}`])], summary),
  '',
  ...(withCeiling
    ? [
        'Against two-way-min (its CPU per command ÷ the build\'s: the rate ratio if each had a whole core; goals c=64 ≥ 0.7×, c=16 ≥ 0.6×):',
        '',
        markdownTable(
          ['build', ...w.labels],
          (['before', 'after'] as const).map((v) => [v, ...w.labels.map((_, i) => `${fixed(ratio(med('min', i, (f) => f.cpuPerUnitUs), med(v, i, (f) => f.cpuPerUnitUs)), 2)}× (rates ${fixed(ratio(med(v, i, (f) => f.perSecond), med('min', i, (f) => f.perSecond)), 2)}×)`)]),
        ),
        '',
      ]
    : []),
  'Runs:',
  '',
  markdownTable(['build', 'round', ...header], runs.map((r) => [r.variant, String(r.round), ...r.figures.flatMap(cells)])),
  '',
].join('\n');
writeFileSync(join(RESULTS_DIR, `${opts.name}.md`), text);
process.stdout.write(text);

/** Start-up A/B: each round starts each build `starts` times on its own existing data dir. */
/** What timeStart runs: `cli.js start` on the given data and certs dir, pinned like the process under test. */
function launch(cli: string, dataDir: string, certsDir: string, restPort: number, mqttPort: number) {
  return () => {
    const proc = spawnWrapped(ctx.placement, 'server', process.execPath, emulatorArgs(ctx, { cli, dataDir, certsDir, restPort, mqttPort }), { cwd: REPO_ROOT });
    proc.child.stdout?.resume();
    return { pid: proc.pid, stop: () => stopChild(proc.child) };
  };
}

async function compareStartup(): Promise<void> {
  const starts = Number(opts.starts ?? 4);
  const idleMs = 1000;
  const results: Array<{ variant: Variant; round: number; run: StartRun }> = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const order: Variant[] = round % 2 ? ['before', 'after'] : ['after', 'before'];
      for (const variant of order) {
        const dir = ctx.tempDir('compare-startup');
        const cli = resolve(opts[variant]);
        const [rest, mqtt] = [await freePort(), await freePort()];
        // The first start creates the database and the certificates; the timed ones find them.
        await timeStart(launch(cli, join(dir, 'data'), join(dir, 'certs'), rest, mqtt), [rest, mqtt], 0);
        for (let i = 0; i < starts; i++) {
          const run = await timeStart(launch(cli, join(dir, 'data'), join(dir, 'certs'), rest, mqtt), [rest, mqtt], idleMs);
          results.push({ variant, round, run });
        }
        const mine = results.filter((r) => r.variant === variant && r.round === round).map((r) => r.run);
        ctx.log(`round ${round} ${variant}: ready ${int(median(mine.map((r) => r.readyMs)))} ms, CPU ${int(median(mine.map((r) => r.cpuMs)))} ms, idle RSS ${fixed(median(mine.map((r) => r.idleRssKiB)) * 1024 / 1e6)} MB`);
      }
    }
  } finally {
    ctx.cleanup();
  }
  const of = (v: Variant) => results.filter((r) => r.variant === v).map((r) => r.run);
  const med = (v: Variant, f: (r: StartRun) => number) => median(of(v).map(f));
  const machine = describeMachine();
  const text = [
    `# ${opts.name}: before / after (startup)`,
    '',
    `${new Date().toISOString()} · ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB, Node ${machine.node} · other work: ${(busy * 100).toFixed(0)} % of all cores busy before the run.`,
    `before: \`${opts.before}\`, after: \`${opts.after}\`; existing data and certs dir; ${starts} starts per build per round, ${rounds} rounds, alternating order; idle RSS ${idleMs / 1000} s after both listeners accept. Wall time moves with other work on the machine; the CPU the process used until ready (10 ms resolution) is the figure to compare; on a busy machine its minimum (the start least disturbed) moves least.`,
    '',
    `Medians of ${of('before').length} starts each:`,
    '',
    markdownTable(
      ['build', 'spawn → both listeners accepting', 'CPU until then', 'CPU, least disturbed start', 'idle RSS'],
      (['before', 'after'] as const).map((v) => [
        v,
        `${int(med(v, (r) => r.readyMs))} ms`,
        `${int(med(v, (r) => r.cpuMs))} ms`,
        `${int(Math.min(...of(v).map((r) => r.cpuMs)))} ms`,
        `${fixed((med(v, (r) => r.idleRssKiB) * 1024) / 1e6)} MB`,
      ]),
    ),
    '',
    'Starts:',
    '',
    markdownTable(
      ['build', 'round', 'ready', 'CPU', 'idle RSS'],
      results.map((r) => [r.variant, String(r.round), `${int(r.run.readyMs)} ms`, `${int(r.run.cpuMs)} ms`, `${fixed((r.run.idleRssKiB * 1024) / 1e6)} MB`]),
    ),
    '',
  ].join('\n');
  writeFileSync(join(RESULTS_DIR, `${opts.name}.md`), text);
  process.stdout.write(text);
}

async function compareInProcess(): Promise<void> {
  const starts = Number(opts.starts ?? 4);
  const results: Array<{ variant: Variant; round: number; run: InProcessRun }> = [];
  try {
    // One CLI start makes the CA and server certificate the in-process starts use.
    const certs = join(ctx.tempDir('compare-in-process'), 'certs');
    const [rest, mqtt] = [await freePort(), await freePort()];
    await timeStart(launch(resolve(opts.before), join(certs, '..', 'data'), certs, rest, mqtt), [rest, mqtt], 0);
    for (let round = 1; round <= rounds; round++) {
      const order: Variant[] = round % 2 ? ['before', 'after'] : ['after', 'before'];
      for (const variant of order) {
        const index = join(dirname(resolve(opts[variant])), 'index.js');
        for (let i = 0; i < starts; i++) results.push({ variant, round, run: await timeInProcess(ctx, certs, index) });
        const mine = results.filter((r) => r.variant === variant && r.round === round).map((r) => r.run);
        ctx.log(`round ${round} ${variant}: import ${int(median(mine.map((r) => r.importMs)))} ms, first start ${int(median(mine.map((r) => r.firstStartMs)))} ms, later start ${int(median(mine.map((r) => r.laterStartMs)))} ms`);
      }
    }
  } finally {
    ctx.cleanup();
  }
  const of = (v: Variant) => results.filter((r) => r.variant === v).map((r) => r.run);
  const med = (v: Variant, f: (r: InProcessRun) => number) => `${int(median(of(v).map(f)))} ms`;
  const machine = describeMachine();
  const text = [
    `# ${opts.name}: before / after (in-process start-up)`,
    '',
    `${new Date().toISOString()} · ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB, Node ${machine.node} · other work: ${(busy * 100).toFixed(0)} % of all cores busy before the run.`,
    `before: \`${opts.before}\`, after: \`${opts.after}\` (the index.js beside each); bench/servers/in-process.mjs, ${starts} processes per build per round, ${rounds} rounds, alternating order, ${ctx.placement.pin ? 'pinned to one core as in `npm run bench`' : 'not pinned'}.`,
    '',
    `Medians of ${of('before').length} processes each:`,
    '',
    markdownTable(
      ['build', 'import', 'first start', 'import + first start', 'later start'],
      (['before', 'after'] as const).map((v) => [v, med(v, (r) => r.importMs), med(v, (r) => r.firstStartMs), med(v, (r) => r.importMs + r.firstStartMs), med(v, (r) => r.laterStartMs)]),
    ),
    '',
    'Processes:',
    '',
    markdownTable(
      ['build', 'round', 'import', 'first start', 'later start'],
      results.map((r) => [r.variant, String(r.round), `${int(r.run.importMs)} ms`, `${int(r.run.firstStartMs)} ms`, `${int(r.run.laterStartMs)} ms`]),
    ),
    '',
  ].join('\n');
  writeFileSync(join(RESULTS_DIR, `${opts.name}.md`), text);
  process.stdout.write(text);
}
