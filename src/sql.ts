import { explainError, refusal } from './sql-policy.js';
import { openReadOnly } from './store/database.js';

export class SqlError extends Error {}

export interface SqlResult {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/**
 * Runs one read-only statement against the emulator database. The connection itself is
 * read-only, so no statement can write, whatever its keywords.
 */
export function runReadOnlySql(dataDir: string, sql: string): SqlResult {
  let db;
  try {
    db = openReadOnly(dataDir);
  } catch (err) {
    throw new SqlError(`cannot open the database in ${dataDir}: ${(err as Error).message}`);
  }
  try {
    let stmt;
    try {
      stmt = db.prepare(sql);
    } catch (err) {
      throw new SqlError((err as Error).message);
    }
    const refused = refusal(sql, stmt);
    if (refused) throw new SqlError(refused);
    try {
      const rows = stmt.all() as Array<Record<string, unknown>>;
      return { columns: stmt.columns().map((c) => c.name), rows };
    } catch (err) {
      throw new SqlError(explainError((err as Error).message, sql));
    }
  } finally {
    db.close();
  }
}

export function formatTable(result: SqlResult): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    return String(v);
  };
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
