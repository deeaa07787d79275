import type { Db } from './database.js';

export interface DeviceSessionRow {
  digital_twin_instance_id: string;
  client_id: string;
  clean_session: number;
  online: number;
  time_connected: string;
  time_disconnected: string | null;
}

/** Which MQTT sessions each device has had: the broker writes it, routing reads it. */
export function deviceSessionStore(db: Db) {
  const upsert = db.prepare(
    `INSERT INTO device_sessions (digital_twin_instance_id, client_id, clean_session, online, time_connected, time_disconnected)
     VALUES (?, ?, ?, 1, ?, NULL)
     ON CONFLICT (digital_twin_instance_id, client_id) DO UPDATE SET
       clean_session = excluded.clean_session, online = 1, time_connected = excluded.time_connected, time_disconnected = NULL`,
  );
  const offline = db.prepare(
    'UPDATE device_sessions SET online = 0, time_disconnected = ? WHERE digital_twin_instance_id = ? AND client_id = ?',
  );
  const allOffline = db.prepare('UPDATE device_sessions SET online = 0, time_disconnected = coalesce(time_disconnected, ?) WHERE online = 1');
  const persistent = db.prepare(
    'SELECT client_id FROM device_sessions WHERE digital_twin_instance_id = ? AND clean_session = 0 ORDER BY time_connected DESC',
  );
  const forget = db.prepare('DELETE FROM device_sessions WHERE digital_twin_instance_id = ?');
  const list = db.prepare('SELECT * FROM device_sessions WHERE digital_twin_instance_id = ? ORDER BY time_connected DESC');
  const countOnline = db.prepare('SELECT count(DISTINCT digital_twin_instance_id) AS n FROM device_sessions WHERE online = 1');

  return {
    connected: (instanceId: string, clientId: string, clean: boolean, time: string) =>
      void upsert.run(instanceId, clientId, clean ? 1 : 0, time),
    disconnected: (instanceId: string, clientId: string, time: string) => void offline.run(time, instanceId, clientId),
    /** At start nobody is connected, whatever the last run left behind. */
    resetOnline: (time: string) => void allOffline.run(time),
    /** Client ids of the device's persistent sessions (clean session false), newest first. */
    persistentClientIds: (instanceId: string) => (persistent.all(instanceId) as Array<{ client_id: string }>).map((r) => r.client_id),
    forget: (instanceId: string) => void forget.run(instanceId),
    list: (instanceId: string) => list.all(instanceId) as DeviceSessionRow[],
    /** Devices (instances) with at least one live connection. */
    countOnline: () => (countOnline.get() as { n: number }).n,
  };
}

export type DeviceSessionStore = ReturnType<typeof deviceSessionStore>;
