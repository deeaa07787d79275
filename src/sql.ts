import Database from 'better-sqlite3';
import { explainError, refusal } from './sql-policy.js';
import { openReadOnly, type Db } from './store/database.js';

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

/** How a value reads in a table cell: NULL as empty, BLOBs as their UTF-8 text. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

export function formatTable(result: SqlResult): string {
  const cell = cellText;
  const cols = result.columns;
  const widths = cols.map((c) => Math.max(c.length, ...result.rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join(' | ').trimEnd();
  const out = [line(cols), widths.map((w) => '-'.repeat(w)).join('-+-'), ...result.rows.map((r) => line(cols.map((c) => cell(r[c]))))];
  out.push(`(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}

export function toJson(result: SqlResult): string {
  return JSON.stringify(
    result.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('base64') : v]))),
    null,
    2,
  );
}
