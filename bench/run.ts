/**
 * `npm run bench [-- --quick] [-- --only=commands,capacity,startup,telemetry] [-- --no-pin] [-- --profile]`
 * `npm run bench -- --soak=<duration> [--soak-sample=30s] [--soak-rate=100] [--soak-telemetry=200]`
 *
 * Runs each benchmark against the emulator as a separate process, with its load from
 * another process, on loopback, next to the ceiling it is built on; prints a markdown
 * report and writes it to bench/results/latest.md (latest-quick.md in quick mode,
 * latest-partial.md when --only picks some; soak.md and soak.svg for a soak). Exits 1 if a
 * correctness check failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext, REPO_ROOT, RESULTS_DIR, type BenchContext, type Section } from './lib/context.js';
import { markdownTable } from './lib/format.js';
import { describeMachine, loadAverage, machineBusy, type Machine } from './lib/machine.js';
import { canPin, pinSelf } from './lib/proc.js';
import { buildModuleTree } from './lib/emulator.js';
import { ensureMosquitto } from './lib/mosquitto.js';
import { capacityScenario } from './scenarios/capacity.js';
import { commandsScenario } from './scenarios/commands.js';
import { parseSoakDuration, SOAK_DEFAULTS, soakScenario, type SoakSettings } from './scenarios/soak.js';
import { startupScenario } from './scenarios/startup.js';
import { telemetryScenario } from './scenarios/telemetry.js';

type Scenario = (ctx: BenchContext, env: { earlier: Section[]; mosquitto: () => string | null }) => Promise<Section>;

const SCENARIOS: Record<string, { title: string; run: Scenario }> = {
  commands: { title: 'Command throughput and latency', run: (ctx) => commandsScenario(ctx) },
  capacity: { title: 'Device capacity', run: (ctx) => capacityScenario(ctx) },
  startup: { title: 'Start-up', run: (ctx, env) => startupScenario(ctx, env.mosquitto()) },
  telemetry: { title: 'Telemetry ingest', run: (ctx, env) => telemetryScenario(ctx, env.mosquitto()) },
};

interface Args {
  quick: boolean;
  only: string[];
  pin: boolean;
  profile: boolean;
  build: boolean;
  /** Set by --soak: run the soak instead of the benchmarks. */
  soak: SoakSettings | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: Object.keys(SCENARIOS), pin: true, profile: false, build: true, soak: null };
  const soak = { ...SOAK_DEFAULTS, durationMs: 0 };
  const positive = (arg: string) => {
    const n = Number(arg.slice(arg.indexOf('=') + 1));
    if (!(n > 0)) throw new Error(`${arg}: expected a positive number`);
    return n;
  };
  for (const arg of argv) {
    if (arg.startsWith('--soak=')) soak.durationMs = parseSoakDuration(arg.slice('--soak='.length));
    else if (arg.startsWith('--soak-sample=')) soak.sampleMs = parseSoakDuration(arg.slice('--soak-sample='.length));
    else if (arg.startsWith('--soak-rate=')) soak.commandRate = positive(arg);
    else if (arg.startsWith('--soak-telemetry=')) soak.telemetryRate = positive(arg);
    else if (arg.startsWith('--soak-devices=')) soak.devices = positive(arg);
    else if (arg === '--quick') args.quick = true;
    else if (arg === '--no-pin') args.pin = false;
    else if (arg === '--profile') args.profile = true;
    else if (arg === '--no-build') args.build = false;
    else if (arg.startsWith('--only=')) {
      args.only = arg.slice('--only='.length).split(',').filter(Boolean);
      const unknown = args.only.filter((name) => !(name in SCENARIOS));
      if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
    } else throw new Error(`unknown option ${arg}; options: --quick --only=a,b --no-pin --profile --no-build --soak=<duration> --soak-sample=30s --soak-rate=100 --soak-telemetry=200 --soak-devices=100`);
  }
  if (soak.durationMs > 0) {
    if (soak.sampleMs > soak.durationMs) throw new Error(`--soak-sample is longer than the soak`);
    args.soak = soak;
  }
  return args;
}

function report(args: Args, machine: Machine, pinned: boolean, sections: Section[], started: Date, seconds: number, load: [number, number], busy: number): string {
  const rows = sections.flatMap((s) => s.rows);
  const targets = rows.filter((r) => r.status !== '');
  const checks = sections.flatMap((s) => s.checks.map((c) => ({ ...c, section: s.title })));
  return [
    '# oci-iot-emulator benchmarks',
    '',
    `${args.soak ? `**Soak** (${(args.soak.durationMs / 60_000).toFixed(1)} min)` : args.quick ? '**Quick mode** (small counts; for development, not for comparison)' : 'Full mode'} · ${started.toISOString()} · commit ${machine.commit} · ${Math.round(seconds)} s`,
    '',
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB memory, Node ${machine.node}, ${machine.os}.`,
    pinned
      ? 'The process under test (emulator, or the ceiling it is compared with) runs on CPU 0; the load process on CPU 1. All traffic is on loopback.'
      : 'Processes are not pinned to cores. All traffic is on loopback.',
    'Where a cell shows a process CPU well under 100 %, that process was not the limit: the load generator (one Node process on one core) or other work on the machine was.',
    `Other work on the machine: ${(busy * 100).toFixed(0)} % of all cores busy in the 2 s before the run; 1-minute load average ${load[0].toFixed(2)} before, ${load[1].toFixed(2)} after.`,
    '',
    markdownTable(
      ['Measure', 'Emulator', 'Ceiling', 'Ratio', 'Target', 'Status'],
      rows.map((r) => [r.measure, r.emulator, r.ceiling, r.ratio, r.target, r.status]),
    ),
    '',
    `Targets: ${targets.filter((r) => r.status === 'met').length} met, ${targets.filter((r) => r.status === 'missed').length} missed (goals, reported, not asserted).`,
    '',
    '## Correctness',
    '',
    ...checks.map((c) => `- ${c.ok ? 'PASS' : 'FAIL'} ${c.section}: ${c.name} (${c.detail})`),
    '',
    ...sections.flatMap((s) => [`## ${s.title}`, '', s.details, '']),
    'Re-run: `npm ci && npm run bench` (full, ~10 min on 2 cores) or `npm run bench -- --quick` (~1 min).',
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const pinned = args.pin && canPin();
  const profileDir = args.profile ? join(RESULTS_DIR, 'profiles') : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const ctx = createContext({ quick: args.quick, placement: { pin: pinned }, profileDir });
  const started = new Date();
  const t0 = performance.now();
  if (args.build) {
    ctx.log('building dist/ (npm run build)');
    const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
  }
  if (args.profile) {
    ctx.log('compiling src/ as modules into bench/.modules/ for the profiles (npx tsc)');
    buildModuleTree();
  }
  const machine = describeMachine();
  const loadBefore = loadAverage();
  const busyBefore = await machineBusy(2000);
  if (busyBefore > 0.1) ctx.log(`warning: the machine is ${(busyBefore * 100).toFixed(0)} % busy before the run; numbers will be skewed`);
  pinSelf(ctx.placement);
  let mosquitto: string | null | undefined;
  const env = {
    earlier: [] as Section[],
    mosquitto: () => (mosquitto === undefined ? (mosquitto = ensureMosquitto(ctx)) : mosquitto),
  };
  const sections = env.earlier;
  let failed = false;
  const soak = args.soak;
  const plan: Array<{ name: string; title: string; run: Scenario }> = soak
    ? [{ name: 'soak', title: 'Soak', run: (c) => soakScenario(c, soak) }]
    : args.only.map((name) => ({ name, ...SCENARIOS[name] }));
  try {
    for (const { name, ...scenario } of plan) {
      ctx.log(`== ${scenario.title}`);
      try {
        sections.push(await scenario.run(ctx, env));
      } catch (err) {
        failed = true;
        ctx.log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
        sections.push({
          id: name,
          title: scenario.title,
          rows: [],
          checks: [{ name: 'benchmark ran to the end', ok: false, detail: (err as Error).message.split('\n')[0] }],
          details: `Failed: ${(err as Error).message}`,
        });
      }
    }
  } finally {
    ctx.cleanup();
  }
  const text = report(args, machine, pinned, sections, started, (performance.now() - t0) / 1000, [loadBefore, loadAverage()], busyBefore);
  mkdirSync(RESULTS_DIR, { recursive: true });
  // Only a full run of every benchmark replaces latest.md, the file the docs quote.
  const partial = args.only.length < Object.keys(SCENARIOS).length;
  const file = join(RESULTS_DIR, soak ? 'soak.md' : args.quick ? 'latest-quick.md' : partial ? 'latest-partial.md' : 'latest.md');
  writeFileSync(file, text);
  process.stdout.write(text + `\nWritten to ${file}\n`);
  return failed || sections.some((s) => s.checks.some((c) => !c.ok)) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
