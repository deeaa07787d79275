import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { REPO_ROOT } from './context.js';
import { spawnWrapped, stopChild, type Spawned } from './proc.js';

/** A ceiling server (bench/servers/*.ts) on the server core. */
export interface CeilingServer {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startCeiling(ctx: BenchContext, name: 'noop-fastify' | 'bare-aedes', args: string[] = []): Promise<CeilingServer> {
  const proc: Spawned = spawnWrapped(
    ctx.placement,
    'server',
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'bench', 'servers', `${name}.ts`), ...args],
    { cwd: REPO_ROOT },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start\n${proc.stderrTail()}`)), 30_000);
    proc.child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const m = /READY (\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}\n${proc.stderrTail()}`));
    });
  });
  return { pid: proc.pid, port, stop: () => stopChild(proc.child) };
}
