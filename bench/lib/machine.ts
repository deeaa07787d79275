import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { REPO_ROOT } from './context.js';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  os: string;
  commit: string;
}

/** 1-minute load average: other work on the machine skews every number, so the report shows it. */
export const loadAverage = (): number => loadavg()[0];

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): Machine {
  const osRelease = tryRun('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']);
  return {
    // Not availableParallelism(): the runner pins itself to one core.
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    os: `${osRelease}, Linux ${tryRun('uname', ['-r'])}`,
    // Only changes to what is measured count; the report and the docs change every run.
    commit:
      tryRun('git', ['rev-parse', '--short', 'HEAD']) +
      (tryRun('git', ['status', '--porcelain', '--', 'src', 'bench', ':!bench/results', 'package.json', 'package-lock.json'])
        ? ' (with local changes)'
        : ''),
  };
}

function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  // idle + iowait
  return { busy: total - fields[3] - fields[4], total };
}

/** Share of all cores busy over `ms`, before the benchmark starts anything: other work on the machine. */
export async function machineBusy(ms: number): Promise<number> {
  const a = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTimes();
  return (b.busy - a.busy) / Math.max(1, b.total - a.total);
}
