import type { Db } from './database.js';

export interface VirtualDeviceRow {
  id: string;
  digital_twin_instance_id: string;
  /** JSON of its configuration (endpoints, response template, telemetry). */
  config: string;
  running: 0 | 1;
  time_created: string;
  time_updated: string;
}

/** Virtual devices are configuration: stored, so they come back after a restart. */
export function virtualDeviceStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO virtual_devices (id, digital_twin_instance_id, config, running, time_created, time_updated)
     VALUES (@id, @digital_twin_instance_id, @config, @running, @time_created, @time_updated)`,
  );
  const byId = db.prepare('SELECT * FROM virtual_devices WHERE id = ?');
  const byInstance = db.prepare('SELECT * FROM virtual_devices WHERE digital_twin_instance_id = ?');
  const all = db.prepare('SELECT * FROM virtual_devices ORDER BY time_created, id');
  const setRunning = db.prepare('UPDATE virtual_devices SET running = ?, time_updated = ? WHERE id = ?');
  const remove = db.prepare('DELETE FROM virtual_devices WHERE id = ?');
  // The response endpoint of the command a device just received: the oldest one sent on that topic still waiting.
  const awaiting = db.prepare(
    `SELECT id, response_endpoint, time_sent FROM commands INDEXED BY commands_instance_status
     WHERE digital_twin_instance_id = ? AND delivery_status = 'SENT' AND request_endpoint = ?
       AND response_endpoint IS NOT NULL ORDER BY id LIMIT 1`,
  );

  return {
    insert: (row: VirtualDeviceRow) => void insert.run(row),
    get: (id: string) => byId.get(id) as VirtualDeviceRow | undefined,
    forInstance: (instanceId: string) => byInstance.get(instanceId) as VirtualDeviceRow | undefined,
    all: () => all.all() as VirtualDeviceRow[],
    setRunning: (id: string, running: boolean, time: string) => void setRunning.run(running ? 1 : 0, time, id),
    remove: (id: string) => remove.run(id).changes === 1,
    awaitingCommand: (instanceId: string, requestEndpoint: string) =>
      awaiting.get(instanceId, requestEndpoint) as { id: number; response_endpoint: string; time_sent: string | null } | undefined,
  };
}

export type VirtualDeviceStore = ReturnType<typeof virtualDeviceStore>;
