import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { REPO_ROOT } from './context.js';
import { spawnWrapped, stopChild, type Spawned } from './proc.js';

/** The emulator running as its own process, as a user would start it. */
export interface EmulatorProcess {
  proc: Spawned;
  pid: number;
  restUrl: string;
  mqttPort: number;
  /** The device HTTPS port (MQTT over WSS at /mqtt); null for builds from before it existed. */
  httpsPort: number | null;
  caFile: string;
  domainId: string;
  dataDir: string;
  certsDir: string;
  databaseFile: string;
  stop(): Promise<void>;
}

export interface EmulatorStart {
  dataDir: string;
  certsDir: string;
  restPort?: number;
  mqttPort?: number;
  httpsPort?: number;
  /** Name of the CPU profile, when the run profiles. */
  profileName?: string;
  /** Another build's cli.js (bench/compare.ts runs a before and an after build). */
  cli?: string;
}

const CLI = join(REPO_ROOT, 'dist', 'cli.js');
/**
 * dist/cli.js is one bundled file, so a CPU profile of it names no package. Profiles are
 * taken of the same sources compiled as modules here (see moduleTreeCli).
 */
export const PROFILE_CLI = join(REPO_ROOT, 'bench', '.modules', 'dist', 'cli.js');

/** Compiles src/ with tsc into bench/.modules/ (beside node_modules, so packages resolve), for profiling. */
export function buildModuleTree(): string {
  const out = join(REPO_ROOT, 'bench', '.modules');
  rmSync(out, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(out, 'dist'), '--incremental', 'false', '--tsBuildInfoFile', 'null'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error('tsc into bench/.modules failed');
  cpSync(join(REPO_ROOT, 'src', 'console', 'public'), join(out, 'dist', 'console', 'public'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'package.json'), join(out, 'package.json'));
  return PROFILE_CLI;
}

export function emulatorArgs(ctx: BenchContext, s: EmulatorStart): string[] {
  const prof = ctx.profileDir && s.profileName ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`, `--cpu-prof-name=${s.profileName}.cpuprofile`] : [];
  return [
    ...prof,
    s.cli ?? (prof.length > 0 ? PROFILE_CLI : CLI),
    'start',
    '--rest-port', String(s.restPort ?? 0),
    '--mqtt-port', String(s.mqttPort ?? 0),
    '--data-dir', s.dataDir,
    '--certs-dir', s.certsDir,
    '--log-level', 'warn',
  ];
}

/**
 * The device HTTPS listener on a free port too. By environment rather than flag: builds from
 * before it existed ignore the variable, so bench/compare.ts can still run them.
 */
export function emulatorEnv(s: Pick<EmulatorStart, 'httpsPort'>): NodeJS.ProcessEnv {
  return { ...process.env, OCI_IOT_HTTPS_PORT: String(s.httpsPort ?? 0) };
}

/** Starts `node dist/cli.js start` on the server core and reads its start-up banner. */
export async function startEmulatorProcess(ctx: BenchContext, s: EmulatorStart): Promise<EmulatorProcess> {
  const proc = spawnWrapped(ctx.placement, 'server', process.execPath, emulatorArgs(ctx, s), { cwd: REPO_ROOT, env: emulatorEnv(s) });
  const banner = await readBanner(proc, 60_000);
  const pick = (re: RegExp) => {
    const m = re.exec(banner);
    if (!m) throw new Error(`emulator banner lacks ${re}:\n${banner}`);
    return m[1];
  };
  return {
    proc,
    pid: proc.pid,
    restUrl: pick(/REST API\s+(\S+)\/20250531/),
    mqttPort: Number(pick(/MQTTS\s+mqtts:\/\/\S+:(\d+)/)),
    httpsPort: /MQTT over WSS\s+wss:\/\/\S+:(\d+)\/mqtt/.exec(banner) ? Number(/MQTT over WSS\s+wss:\/\/\S+:(\d+)\/mqtt/.exec(banner)![1]) : null,
    caFile: pick(/CA file\s+(\S+)/),
    domainId: pick(/IoT domain\s+(\S+)/),
    databaseFile: pick(/database\s+(\S+)/),
    dataDir: s.dataDir,
    certsDir: s.certsDir,
    stop: () => stopChild(proc.child),
  };
}

/** Resolves with stdout up to and including the banner's last line (`clock ...`). */
function readBanner(proc: Spawned, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const stdout = proc.child.stdout!;
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`emulator did not start: ${why}\n${proc.stderrTail()}`));
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (/^\s+clock\s+\S+$/m.test(text)) {
        cleanup();
        // Keep draining stdout so the emulator never blocks on a full pipe.
        stdout.resume();
        resolve(text);
      }
    };
    const onExit = (code: number | null) => fail(`exited with ${code}`);
    const timer = setTimeout(() => fail(`no banner after ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      stdout.off('data', onData);
      proc.child.off('exit', onExit);
    };
    stdout.on('data', onData);
    proc.child.on('exit', onExit);
  });
}
