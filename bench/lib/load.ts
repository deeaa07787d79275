import { join } from 'node:path';
import type { LoadOp, LoadOps, LoadReply } from '../load/protocol.js';
import type { BenchContext } from './context.js';
import { REPO_ROOT } from './context.js';
import { spawnWrapped, stopChild, type Spawned } from './proc.js';

/** The runner's handle on a load process: typed calls over its IPC channel. */
export interface LoadProcess {
  pid: number;
  call<K extends LoadOp>(op: K, args: LoadOps[K][0]): Promise<LoadOps[K][1]>;
  stop(): Promise<void>;
}

const WORKER = join(REPO_ROOT, 'bench', 'load', 'worker.ts');

export function startLoad(ctx: BenchContext): LoadProcess {
  // 10,000 MQTT.js clients need more than the default old-space limit on small machines.
  const proc: Spawned = spawnWrapped(
    ctx.placement,
    'load',
    process.execPath,
    ['--max-old-space-size=4096', '--import', 'tsx', WORKER],
    { ipc: true, cwd: REPO_ROOT },
  );
  const child = proc.child;
  child.stdout?.resume();
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (msg: LoadReply) => {
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.ok) w.resolve(msg.result);
    else w.reject(new Error(`load process: ${msg.error}`));
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`load process exited (${code ?? signal})\n${proc.stderrTail()}`));
    waiting.clear();
  });
  return {
    pid: proc.pid,
    call<K extends LoadOp>(op: K, args: LoadOps[K][0]): Promise<LoadOps[K][1]> {
      const id = nextId++;
      return new Promise<LoadOps[K][1]>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, op, args });
      });
    },
    stop: () => stopChild(child),
  };
}
