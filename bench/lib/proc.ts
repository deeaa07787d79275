import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Where processes run. On two or more cores the process under test gets CPU 0 and every
 * load generator CPU 1, so neither steals the other's core and a saturated server shows
 * as ~100 % CPU (the method of shared/reference §2.3).
 */
export interface Placement {
  pin: boolean;
}

export type Role = 'server' | 'load';

export function canPin(): boolean {
  return availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;
}

/** Pins the calling process (the bench runner) to the load core. */
export function pinSelf(placement: Placement): void {
  if (placement.pin) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
}

/**
 * Wraps a command so that it runs with the soft open-file limit raised to the hard one
 * (10,000 TLS devices need more than the usual 1,024) and on its role's core. `exec`
 * keeps the pid of the final program, so /proc readings are of the process itself.
 */
export function wrapCommand(placement: Placement, role: Role, command: string, args: readonly string[]): [string, string[]] {
  const pinned = placement.pin ? ['taskset', '-c', role === 'server' ? '0' : '1'] : [];
  return ['/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...pinned, command, ...args]];
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** The last lines the process wrote on stderr, for error messages. */
  stderrTail(): string;
}

export function spawnWrapped(
  placement: Placement,
  role: Role,
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; ipc?: boolean; cwd?: string } = {},
): Spawned {
  const [cmd, argv] = wrapCommand(placement, role, command, args);
  const child = spawn(cmd, argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const tail: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail.push(chunk);
    while (tail.length > 20) tail.shift();
  });
  return { child, pid: child.pid, stderrTail: () => tail.join('').slice(-2000) };
}

/** Resident set size in KiB, from /proc/<pid>/status. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream kernel.
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Measures a process's CPU use over a window, as a fraction of one core. */
export function cpuMeter(pid: number): () => number {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  return () => (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
}

/**
 * CPU use of a process over a window that starts `delayMs` from now and lasts `lengthMs`,
 * as a fraction of one core; lined up with a load run's warm-up and measure window.
 */
export function cpuWindow(pid: number, delayMs: number, lengthMs: number): Promise<number> {
  return new Promise((resolve) => {
    setTimeout(() => {
      const meter = cpuMeter(pid);
      setTimeout(() => {
        try {
          resolve(meter());
        } catch {
          resolve(NaN); // the process ended first
        }
      }, lengthMs);
    }, delayMs);
  });
}

/** Sends `signal`, then SIGKILL if the process has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The hard open-file limit children can raise their soft limit to (see wrapCommand). */
export function hardFileLimit(): number {
  const out = spawnSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(out) || 1024;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
