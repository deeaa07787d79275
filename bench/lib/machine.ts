import { execFileSync } from 'node:child_process';
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
    commit: tryRun('git', ['rev-parse', '--short', 'HEAD']) + (tryRun('git', ['status', '--porcelain']) ? ' (with local changes)' : ''),
  };
}
