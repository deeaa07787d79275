import type { Db } from './database.js';

export type RetentionDataType = 'RAW_DATA' | 'REJECTED_DATA' | 'HISTORIZED_DATA' | 'RAW_COMMAND_DATA';

/**
 * One table the retention purge keeps within a domain's retention period. Adding a data
 * table is one line here; a table that does not exist (yet) is skipped.
 */
export interface PurgeTarget {
  dataType: RetentionDataType;
  table: string;
  /** ISO 8601 UTC text, compared as text: the emulator writes every time as toISOString(). */
  timeColumn: string;
  /** The column keeps microseconds (`…05.226854Z`): the cutoff is written the same way to compare as text. */
  micros?: true;
  /** Extra SQL condition on the rows that may go. */
  filter?: string;
  /** Rows of other tables that point at a purged row and go with it. */
  dependents?: Array<{ table: string; column: string }>;
}

export const PURGE_TARGETS: readonly PurgeTarget[] = [
  { dataType: 'RAW_DATA', table: 'raw_data', timeColumn: 'time_received' },
  { dataType: 'REJECTED_DATA', table: 'rejected_data', timeColumn: 'time_received' },
  { dataType: 'HISTORIZED_DATA', table: 'historized_data', timeColumn: 'time_observed', micros: true },
  // Only finished commands: a PENDING or SENT one still has a deadline to meet.
  {
    dataType: 'RAW_COMMAND_DATA',
    table: 'commands',
    timeColumn: 'time_created',
    filter: "delivery_status NOT IN ('PENDING', 'SENT')",
    dependents: [
      { table: 'command_events', column: 'command_id' },
      { table: 'command_deliveries', column: 'command_id' },
    ],
  },
];

/**
 * The rows of one domain past its retention, oldest first. It runs every minute, so it must
 * read only rows older than the cutoff, through the time index: the `+` keeps SQLite off the
 * per-instance indexes, through which it walked every row the domain's devices ever sent
 * (a 50-100 ms stall of the event loop each minute with 100,000 commands, growing with the
 * table; bench/results/soak.md).
 */
export function purgeSelectSql(t: PurgeTarget): string {
  return `SELECT rowid AS rid FROM ${t.table} WHERE ${t.timeColumn} < @cutoff
         AND +digital_twin_instance_id IN (SELECT id FROM digital_twin_instances WHERE iot_domain_id = @domainId)
         ${t.filter ? `AND ${t.filter}` : ''} ORDER BY ${t.timeColumn} LIMIT @batch`;
}

/**
 * The purge's statements, prepared for the targets whose table and columns exist. Each
 * call deletes at most `batch` rows of one domain in one transaction, so the broker's
 * writes never wait long behind it.
 */
export function retentionStore(db: Db, targets: readonly PurgeTarget[] = PURGE_TARGETS) {
  const columnsOf = (table: string) => new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as Array<{ name: string }>).map((r) => r.name));
  const usable = targets.filter((t) => {
    const columns = columnsOf(t.table);
    return columns.has(t.timeColumn) && columns.has('digital_twin_instance_id') && (t.dependents ?? []).every((d) => columnsOf(d.table).has(d.column));
  });
  const prepared = usable.map((t) => {
    const select = db.prepare(purgeSelectSql(t));
    const dependents = (t.dependents ?? []).map((d) =>
      db.prepare(`DELETE FROM ${d.table} WHERE ${d.column} IN (SELECT id FROM ${t.table} WHERE rowid IN (SELECT value FROM json_each(?)))`),
    );
    const remove = db.prepare(`DELETE FROM ${t.table} WHERE rowid IN (SELECT value FROM json_each(?))`);
    const purge = db.transaction((domainId: string, cutoff: string, batch: number): number => {
      const ids = JSON.stringify((select.all({ domainId, cutoff, batch }) as Array<{ rid: number }>).map((r) => r.rid));
      for (const d of dependents) d.run(ids);
      return remove.run(ids).changes;
    });
    return { target: t, purge };
  });

  return {
    /** The targets this database has, in order. */
    targets: usable,
    /** Deletes up to `batch` rows of `dataType` in `domainId` older than `cutoff`; returns how many went. */
    purgeBatch(target: PurgeTarget, domainId: string, cutoff: string, batch: number): number {
      return prepared.find((p) => p.target === target)!.purge(domainId, target.micros ? `${cutoff.slice(0, -1)}000Z` : cutoff, batch);
    },
  };
}

export type RetentionStore = ReturnType<typeof retentionStore>;
