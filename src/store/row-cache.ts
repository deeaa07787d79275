import type { Db } from './database.js';

/**
 * Rows read on every command or device message (its instance, its domain) kept in memory
 * between the rare writes to their table. Every invoke read both, ~10 µs each
 * (bench/results/hot-8-row-cache.md: 8 and 11 µs a read).
 *
 * What empties a cache is a TEMP trigger on its table calling back into JS, so any write
 * through this connection, from whichever store module, invalidates it; a temp trigger
 * lives in the connection only, never in the database file that other tools open. A row
 * read inside a transaction is not kept, as that transaction may still roll back. Cached
 * rows are frozen: callers copy before they change one.
 */
const INVALIDATE = 'oci_iot_emulator_table_written';
const caches = new WeakMap<Db, Map<string, Map<string, unknown>>>();

function tableCaches(db: Db): Map<string, Map<string, unknown>> {
  let byTable = caches.get(db);
  if (!byTable) {
    const tables = new Map<string, Map<string, unknown>>();
    db.function(INVALIDATE, { deterministic: false }, (table: unknown) => {
      tables.get(String(table))?.clear();
      return null;
    });
    caches.set(db, (byTable = tables));
  }
  return byTable;
}

/** Rows kept per table at most; past it the cache starts over (a device fleet of that size still fits). */
const MAX_ROWS = 20_000;

/**
 * `load` (a lookup by primary key in `table`), answered from memory until `table` is
 * written. Only this connection writes these tables (the CLI's own connections write
 * certificates, the user's SQL is read-only).
 */
export function cachedById<Row extends object>(db: Db, table: string, load: (id: string) => Row | undefined): (id: string) => Row | undefined {
  const byTable = tableCaches(db);
  const rows = new Map<string, Row>();
  let watched = false;
  return (id) => {
    const hit = rows.get(id);
    if (hit) return hit;
    const row = load(id);
    if (!row || db.inTransaction) return row;
    if (!watched) {
      // Outside any transaction, so no rollback can take the triggers away again.
      byTable.set(table, rows as Map<string, unknown>);
      for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
        db.exec(
          `CREATE TEMP TRIGGER IF NOT EXISTS ${table}_${op.toLowerCase()}_cache AFTER ${op} ON main.${table}
           BEGIN SELECT ${INVALIDATE}('${table}'); END`,
        );
      }
      watched = true;
    }
    if (rows.size >= MAX_ROWS) rows.clear();
    rows.set(id, Object.freeze(row));
    return row;
  };
}
