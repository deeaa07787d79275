import type { Db } from './database.js';

export interface HistorizedRow {
  id: number;
  digital_twin_instance_id: string;
  content_path: string;
  /** The value as JSON text. */
  value: string;
  time_observed: string;
}

export interface SnapshotRow {
  digital_twin_instance_id: string;
  content_path: string;
  value: string;
  time_observed: string;
}

export interface RejectedRow {
  id: number;
  digital_twin_instance_id: string;
  endpoint: string;
  content: Buffer | null;
  content_type: string;
  time_received: string;
  reason_code: number;
  reason_message: string;
}

/** historized_data, snapshot_data and rejected_data: what an adapter makes of device telemetry. */
export function telemetryDataStore(db: Db) {
  const insertHistorized = db.prepare(
    'INSERT INTO historized_data (digital_twin_instance_id, content_path, value, time_observed) VALUES (?, ?, ?, ?)',
  );
  // A late message (older time_observed) never rolls the snapshot back; a tie goes to the newer message.
  const upsertSnapshot = db.prepare(
    `INSERT INTO snapshot_data (digital_twin_instance_id, content_path, value, time_observed) VALUES (?, ?, ?, ?)
     ON CONFLICT (digital_twin_instance_id, content_path) DO UPDATE SET value = excluded.value, time_observed = excluded.time_observed
     WHERE excluded.time_observed >= snapshot_data.time_observed`,
  );
  const insertRejected = db.prepare(
    `INSERT INTO rejected_data (digital_twin_instance_id, endpoint, content, content_type, time_received, reason_code, reason_message)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const snapshotOf = db.prepare('SELECT * FROM snapshot_data WHERE digital_twin_instance_id = ? ORDER BY content_path');
  const series = db.prepare(
    `SELECT * FROM (SELECT * FROM historized_data WHERE digital_twin_instance_id = ? AND content_path = ?
       ORDER BY time_observed DESC, id DESC LIMIT ?) ORDER BY time_observed, id`,
  );
  return {
    historize: (instanceId: string, contentPath: string, valueJson: string, timeObserved: string) =>
      void insertHistorized.run(instanceId, contentPath, valueJson, timeObserved),
    snapshot: (instanceId: string, contentPath: string, valueJson: string, timeObserved: string) =>
      void upsertSnapshot.run(instanceId, contentPath, valueJson, timeObserved),
    reject: (row: Omit<RejectedRow, 'id'>) =>
      void insertRejected.run(
        row.digital_twin_instance_id, row.endpoint, row.content, row.content_type, row.time_received, row.reason_code, row.reason_message,
      ),
    snapshotOf: (instanceId: string) => snapshotOf.all(instanceId) as SnapshotRow[],
    /** The last `limit` historized values of one content path, oldest first (for a chart). */
    series: (instanceId: string, contentPath: string, limit: number) => series.all(instanceId, contentPath, limit) as HistorizedRow[],
  };
}

export type TelemetryDataStore = ReturnType<typeof telemetryDataStore>;
