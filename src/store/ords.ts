import type { Db } from './database.js';
import { compileOrdsQuery, HISTORIZED_DATA, RAW_COMMAND_DATA, RAW_DATA, REJECTED_DATA, type OrdsTable } from './ords-query.js';

export type OrdsRow = Record<string, unknown>;

/** The read side of OCI's data host: the ORDS tables, scoped to one IoT domain. */
export function ordsStore(db: Db) {
  const inDomain = 'digital_twin_instance_id IN (SELECT id FROM digital_twin_instances WHERE iot_domain_id = ?)';
  const single = new Map(
    [RAW_COMMAND_DATA, RAW_DATA, HISTORIZED_DATA, REJECTED_DATA].map((t) => [
      t,
      db.prepare(`SELECT ${t.columns.join(', ')} FROM ${t.name} WHERE id = ? AND ${inDomain}`),
    ]),
  );

  return {
    /**
     * One page of a table's rows (without its payload columns) that the `q` filter keeps,
     * plus whether more follow. Each filter is compiled on its own: users write them, so
     * caching them would only push out the statements that are reused.
     */
    page(table: OrdsTable, domainId: string, q: string | undefined, limit: number, offset: number) {
      const listColumns = table.columns.filter((c) => !table.payloadColumns.includes(c));
      const { where, params, orderBy } = compileOrdsQuery(table, q);
      const sql = `SELECT ${listColumns.join(', ')} FROM ${table.name}
        WHERE ${inDomain} AND (${where}) ORDER BY ${orderBy} LIMIT ? OFFSET ?`;
      const rows = db.prepare(sql).all(domainId, ...params, limit + 1, offset) as OrdsRow[];
      const hasMore = rows.length > limit;
      return { rows: hasMore ? rows.slice(0, limit) : rows, hasMore };
    },
    /** One row with every column, if it belongs to the domain. */
    row: (table: OrdsTable, id: number, domainId: string) => single.get(table)!.get(id, domainId) as OrdsRow | undefined,
  };
}

export type OrdsStore = ReturnType<typeof ordsStore>;
