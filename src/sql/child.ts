/**
 * Runs one statement of the sql command in its own process, so the parent can kill it
 * at the time limit: SQLite is built here without a progress callback, and a statement
 * in better-sqlite3 cannot be interrupted from JavaScript.
 */
import { runReadOnlySql } from './query.js';

interface Request {
  dataDir: string;
  sql: string;
  maxRows: number;
}

process.once('message', (request: Request) => {
  let reply: { ok: true; result: ReturnType<typeof runReadOnlySql> } | { ok: false; error: string };
  try {
    reply = { ok: true, result: runReadOnlySql(request.dataDir, request.sql, request.maxRows) };
  } catch (err) {
    reply = { ok: false, error: (err as Error).message };
  }
  process.send!(reply, () => process.exit(0));
});
process.send!('ready');
