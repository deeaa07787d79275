import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqlError, type SqlResult } from './query.js';

const here = fileURLToPath(import.meta.url);
/** From the TypeScript sources (tests, tsx) the child needs the same loader; from dist it is plain JS. */
const child = fileURLToPath(new URL(`./child${extname(here)}`, import.meta.url));
const execArgv = extname(here) === '.ts' ? ['--import', 'tsx'] : [];
/** Starting node and opening the database is not the statement's time. */
const STARTUP_LIMIT_MS = 30_000;

type Result = SqlResult & { truncated: boolean };
type Reply = { ok: true; result: Result } | { ok: false; error: string };

/**
 * Runs one read-only statement (see runReadOnlySql) with a time limit: in a child process
 * that is killed when the statement runs longer than `timeoutMs`.
 */
export async function runReadOnlySqlWithin(dataDir: string, sql: string, timeoutMs: number, maxRows = Infinity): Promise<Result> {
  // Loaded here, not with the package: most runs never query, and node:child_process is a
  // millisecond of every import.
  const { fork } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const worker = fork(child, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let timer = setTimeout(() => stop(new SqlError('the sql command could not start its query process')), STARTUP_LIMIT_MS);
    let settled = false;
    const stop = (err: Error | null, result?: Result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (worker.exitCode === null) worker.kill('SIGKILL');
      if (err) reject(err);
      else resolve(result!);
    };
    worker.on('message', (message: 'ready' | Reply) => {
      if (message === 'ready') {
        clearTimeout(timer);
        timer = setTimeout(
          () => stop(new SqlError(`the statement ran longer than the ${timeoutMs} ms limit and was stopped (see --sql-timeout)`)),
          timeoutMs,
        );
        worker.send({ dataDir, sql, maxRows });
      } else if (message.ok) stop(null, message.result);
      else stop(new SqlError(message.error));
    });
    worker.on('error', (err) => stop(new SqlError(`the query process failed: ${err.message}`)));
    worker.on('exit', (code, signal) => stop(new SqlError(`the query process ended early (${signal ?? `exit code ${code}`})`)));
  });
}
