import type { Db } from './database.js';

export interface RawDataRow {
  id: number;
  digital_twin_instance_id: string;
  endpoint: string;
  content_type: string;
  content: Buffer | null;
  time_received: string;
}

export function rawDataStore(db: Db) {
  const insert = db.prepare(
    'INSERT INTO raw_data (digital_twin_instance_id, endpoint, content_type, content, time_received) VALUES (?, ?, ?, ?, ?)',
  );
  return {
    insert(row: Omit<RawDataRow, 'id'>): number {
      return Number(
        insert.run(row.digital_twin_instance_id, row.endpoint, row.content_type, row.content, row.time_received)
          .lastInsertRowid,
      );
    },
  };
}
