import Database from 'better-sqlite3';
import { explainError, refusal } from './policy.js';
import { openReadOnly, type Db } from '../store/database.js';

export class SqlError extends Error {}

export interface SqlResult {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/**
 * Runs one read-only statement against the emulator database. The connection itself is
 * read-only, so no statement can write, whatever its keywords.
 */
export function runReadOnlySql(dataDir: string, sql: string, maxRows = Infinity): SqlResult & { truncated: boolean } {
  let db;
  try {
    db = openReadOnly(dataDir);
  } catch (err) {
    throw new SqlError(`cannot open the database in ${dataDir}: ${(err as Error).message}`);
  }
  try {
    return runOn(db, sql, maxRows);
  } finally {
    db.close();
  }
}

const READ_ONLY = 'the sql command is read-only: only statements that return rows (SELECT, WITH, read-only PRAGMA) are allowed';
const WRITE = /^\s*(insert|update|delete|replace|create|drop|alter)\b/i;

/**
 * A connection that cannot write, beside the emulator's own. An in-memory database has
 * no file to open a second time, so it is read through a read-only copy of itself.
 */
export function readOnlyConnection(live: Db, dataDir: string): Db {
  return dataDir === ':memory:' ? new Database(live.serialize(), { readonly: true }) : openReadOnly(dataDir);
}

/**
 * Runs one statement that returns rows on a connection the caller opened read-only.
 * `maxRows` stops reading early, for screens that show a page of a large table.
 */
export function runOn(db: Db, sql: string, maxRows = Infinity): SqlResult & { truncated: boolean } {
  let stmt;
  try {
    stmt = db.prepare(sql);
  } catch (err) {
    // Some writes fail before they could be refused (a DELETE on a view); say what matters first.
    if (WRITE.test(sql)) throw new SqlError(`${READ_ONLY} (${(err as Error).message})`);
    throw new SqlError((err as Error).message);
  }
  const refused = refusal(sql, stmt);
  if (refused) throw new SqlError(refused);
  try {
    const rows: Array<Record<string, unknown>> = [];
    let truncated = false;
    for (const row of stmt.iterate() as Iterable<Record<string, unknown>>) {
      if (rows.length >= maxRows) {
        truncated = true;
        break;
      }
      rows.push(row);
    }
    return { columns: stmt.columns().map((c) => c.name), rows, truncated };
  } catch (err) {
    throw new SqlError(explainError((err as Error).message, sql));
  }
}
