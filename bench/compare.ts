/**
 * `npx tsx bench/compare.ts --before=<cli.js> --after=<cli.js> --name=<stem> [--rounds=3]`
 *
 * A/B of two emulator builds on the two-way command path, for before/after records of a
 * fix. Rounds alternate the order of the builds so drift on a shared machine hits both.
 * Each run: fresh emulator, 100 devices, an open loop at a fixed rate (same work for
 * both builds) and a closed loop at concurrency 16. The figure to compare is emulator
 * CPU per command, which other work on the machine moves much less than rates do.
 * Writes bench/results/<stem>.md.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createContext, RESULTS_DIR } from './lib/context.js';
import { startEmulatorProcess } from './lib/emulator.js';
import { fixed, int, markdownTable, pct } from './lib/format.js';
import { startLoad } from './lib/load.js';
import { describeMachine, machineBusy } from './lib/machine.js';
import { canPin, cpuWindow, pinSelf } from './lib/proc.js';
import { provisionDevices } from './lib/provision.js';
import { median } from './lib/stats.js';
import { COMMAND_TOPIC, type InvokeResult } from './load/protocol.js';

const opts = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split(/=(.*)/s, 2) as [string, string]));
if (!opts.before || !opts.after || !opts.name) {
  process.stderr.write('usage: tsx bench/compare.ts --before=<cli.js> --after=<cli.js> --name=<stem> [--rounds=3] [--rate=200]\n');
  process.exit(2);
}
const rounds = Number(opts.rounds ?? 3);
const fixedRate = Number(opts.rate ?? 200);
const DEVICES = 100;
const WARMUP_MS = 1000;
const MEASURE_MS = 5000;

interface Run {
  variant: 'before' | 'after';
  round: number;
  open: InvokeResult;
  openCpu: number;
  closed: InvokeResult;
  closedCpu: number;
}

const ctx = createContext({ quick: true, placement: { pin: canPin() }, profileDir: null });
const busy = await machineBusy(2000);
pinSelf(ctx.placement);
const runs: Run[] = [];

async function runOnce(variant: 'before' | 'after', round: number): Promise<Run> {
  const dir = ctx.tempDir('compare');
  const emu = await startEmulatorProcess(ctx, { dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), cli: resolve(opts[variant]) });
  const load = startLoad(ctx);
  try {
    const { devices } = await provisionDevices(emu.restUrl, emu.domainId, DEVICES);
    await load.call('connect', { url: `mqtts://127.0.0.1:${emu.mqttPort}`, caFile: emu.caFile, devices, parallel: 50, subscribe: COMMAND_TOPIC });
    const base = { restUrl: emu.restUrl, twoWay: true, targets: DEVICES, warmupMs: WARMUP_MS, measureMs: MEASURE_MS };
    let cpu = cpuWindow(emu.pid, WARMUP_MS, MEASURE_MS);
    const open = await load.call('openLoop', { ...base, rate: fixedRate });
    const openCpu = await cpu;
    cpu = cpuWindow(emu.pid, WARMUP_MS, MEASURE_MS);
    const closed = await load.call('closedLoop', { ...base, concurrency: 16 });
    const closedCpu = await cpu;
    return { variant, round, open, openCpu, closed, closedCpu };
  } finally {
    await load.stop();
    await emu.stop();
  }
}

try {
  for (let round = 1; round <= rounds; round++) {
    const order: Array<'before' | 'after'> = round % 2 ? ['before', 'after'] : ['after', 'before'];
    for (const variant of order) {
      const run = await runOnce(variant, round);
      runs.push(run);
      ctx.log(`round ${round} ${variant}: open ${int((run.openCpu * 1e6) / run.open.perSecond)} µs/command, closed ${int(run.closed.perSecond)}/s`);
    }
  }
} finally {
  ctx.cleanup();
}

const perCommand = (cpu: number, r: InvokeResult) => (cpu * 1e6) / r.perSecond;
const rows = runs.map((r) => [
  r.variant,
  String(r.round),
  `${int(perCommand(r.openCpu, r.open))} µs`,
  pct(r.open.latency),
  int(r.closed.perSecond),
  `${int(perCommand(r.closedCpu, r.closed))} µs`,
  `${fixed(r.closedCpu * 100, 0)} %`,
]);
const med = (variant: string, f: (r: Run) => number) => median(runs.filter((r) => r.variant === variant).map(f));
const summary = (['before', 'after'] as const).map((v) => [
  v,
  `${int(med(v, (r) => perCommand(r.openCpu, r.open)))} µs`,
  `${fixed(med(v, (r) => r.open.latency.p50), 2)} / ${fixed(med(v, (r) => r.open.latency.p99), 1)} ms`,
  int(med(v, (r) => r.closed.perSecond)),
  `${int(med(v, (r) => perCommand(r.closedCpu, r.closed)))} µs`,
]);
const machine = describeMachine();
const text = [
  `# ${opts.name}: before / after`,
  '',
  `${new Date().toISOString()} · ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB, Node ${machine.node} · other work: ${(busy * 100).toFixed(0)} % of all cores busy before the run.`,
  `before: \`${opts.before}\`, after: \`${opts.after}\`; ${DEVICES} TLS devices, two-way commands; open loop at ${fixedRate}/s and closed loop at concurrency 16, ${MEASURE_MS / 1000} s each after ${WARMUP_MS / 1000} s warm-up; ${rounds} rounds, alternating order.`,
  '',
  'Medians:',
  '',
  markdownTable(['build', `CPU per command at ${fixedRate}/s`, 'client p50 / p99', 'closed loop c=16 /s', 'CPU per command at c=16'], summary),
  '',
  'Runs:',
  '',
  markdownTable(['build', 'round', `CPU per command at ${fixedRate}/s`, 'client p50 / p95 / p99', 'c=16 /s', 'CPU per command at c=16', 'emulator CPU at c=16'], rows),
  '',
].join('\n');
writeFileSync(join(RESULTS_DIR, `${opts.name}.md`), text);
process.stdout.write(text);
