/** How the sql command prints a result: a text table for people, JSON for programs. */
import type { SqlResult } from './query.js';

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
