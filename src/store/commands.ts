import type { DeliveryStatus } from './delivery-states.js';
import type { Db } from './database.js';
import type { Statement } from 'better-sqlite3';
import { liveCommands } from './live-commands.js';
import { rawDataStore, type RawDataRow } from './raw-data.js';

/** A row of `raw_command_data`: OCI's 17 columns, as users query them. */
export interface RawCommandData {
  id: number;
  digital_twin_instance_id: string;
  request_endpoint: string;
  request_duration: string;
  request_data_format: string;
  request_data: string | null;
  request_content_type: string;
  response_endpoint: string | null;
  response_duration: string | null;
  response_data_format: string | null;
  response_data: string | null;
  response_content_type: string | null;
  delivery_status: DeliveryStatus;
  created_by: string;
  time_created: string;
  time_updated: string;
  time_finished: string | null;
}

/** A row of the wide `commands` table: raw_command_data's columns and the emulator's own. */
export interface CommandRow extends RawCommandData {
  iot_domain_id: string;
  created_at_ms: number;
  request_deadline_ms: number;
  response_window_ms: number | null;
  next_deadline_ms: number | null;
  time_sent: string | null;
  time_acknowledged: string | null;
  qos: number | null;
  client_id: string | null;
  message_id: number | null;
  delivery_count: number;
  retry_token: string | null;
  retry_fingerprint: string | null;
  /** For a command to an INDIRECT instance: the gateway whose connection carried it. */
  gateway_instance_id: string | null;
}

export type NewCommand = Omit<CommandRow, 'id'>;

/** Which connection a command was written to: the instance the connection belongs to, and its client id. */
export interface ConnectionKey {
  /** The command's own instance, or the gateway it went through. */
  sessionInstanceId: string;
  clientId: string;
}

/** One write of a command to one connection. */
export interface Delivery extends ConnectionKey {
  qos: 0 | 1;
  messageId: number | null;
  time: string;
}

/** A QoS 1 delivery not acknowledged yet, with its command. */
export interface UnackedDelivery {
  command: CommandRow;
  messageId: number;
}

/** What an event row says beyond the command and its states: when, why, and facts for the record. */
export interface EventNote {
  time: string;
  cause: string;
  detail?: Record<string, unknown>;
}

/** A device publish, as every inbound stage sees it: a command's response, or telemetry. */
export type PublishClass = { kind: 'response'; command: CommandRow } | { kind: 'telemetry' };
const TELEMETRY: PublishClass = { kind: 'telemetry' };

/** What a command change writes besides the command row and its event, in the same transaction. */
export interface ChangeEffects {
  /** The connections the command was just written to. */
  deliveries?: Delivery[];
  /** The connection whose PUBACK this change records. */
  acknowledged?: ConnectionKey & { time: string };
}

/** One row of a command's history, as the console shows it. */
export interface CommandEventRow {
  from_status: DeliveryStatus | null;
  to_status: DeliveryStatus | null;
  cause: string;
}

/**
 * The command tables (`commands`, `command_events`) and the `raw_data` rows device
 * publishes leave. Every change of a command is written together with the event that
 * records it, in one transaction, so a command's history never disagrees with its row.
 */
export function commandStore(db: Db) {
  const columns = [
    'digital_twin_instance_id', 'request_endpoint', 'request_duration', 'request_data_format', 'request_data',
    'request_content_type', 'response_endpoint', 'response_duration', 'response_data_format', 'response_data',
    'response_content_type', 'delivery_status', 'created_by', 'time_created', 'time_updated', 'time_finished',
    'iot_domain_id', 'created_at_ms', 'request_deadline_ms', 'response_window_ms', 'next_deadline_ms', 'time_sent',
    'time_acknowledged', 'qos', 'client_id', 'message_id', 'delivery_count', 'retry_token', 'retry_fingerprint',
    'gateway_instance_id',
  ];
  // Positional parameters: binding 30 named ones from an object cost more than the INSERT's own work.
  const insert = db.prepare(`INSERT INTO commands (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  const valuesOf = (row: NewCommand) => columns.map((c) => row[c as keyof NewCommand]);
  const insertEvent = db.prepare(
    'INSERT INTO command_events (command_id, time, from_status, to_status, cause, detail) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const byId = db.prepare('SELECT * FROM commands WHERE id = ?');
  const byRetryToken = db.prepare('SELECT * FROM commands WHERE digital_twin_instance_id = ? AND retry_token = ?');
  const clearRetryToken = db.prepare('UPDATE commands SET retry_token = NULL WHERE id = ?');
  const nextDue = db.prepare(
    'SELECT * FROM commands WHERE next_deadline_ms IS NOT NULL AND next_deadline_ms <= ? ORDER BY next_deadline_ms, id LIMIT 1',
  );
  const nextDeadline = db.prepare('SELECT min(next_deadline_ms) AS at FROM commands WHERE next_deadline_ms IS NOT NULL');
  // A connection's QoS 1 window: its deliveries not acknowledged yet whose command is still SENT.
  const unackedFor = db.prepare(
    `SELECT c.*, d.message_id AS delivery_message_id
     FROM command_deliveries d INDEXED BY command_deliveries_unacknowledged JOIN commands c ON c.id = d.command_id
     WHERE d.session_instance_id = ? AND d.client_id = ? AND d.qos = 1 AND d.time_acknowledged IS NULL
       AND c.delivery_status = 'SENT' ORDER BY c.id`,
  );
  const byMessageId = db.prepare(
    `SELECT c.* FROM command_deliveries d INDEXED BY command_deliveries_unacknowledged JOIN commands c ON c.id = d.command_id
     WHERE d.session_instance_id = ? AND d.client_id = ? AND d.message_id = ? AND d.qos = 1 AND d.time_acknowledged IS NULL
     ORDER BY d.command_id DESC LIMIT 1`,
  );
  const insertDelivery = db.prepare(
    `INSERT INTO command_deliveries (command_id, session_instance_id, client_id, qos, message_id, time_sent)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const ackDelivery = db.prepare(
    `UPDATE command_deliveries SET time_acknowledged = ?
     WHERE command_id = ? AND session_instance_id = ? AND client_id = ? AND time_acknowledged IS NULL`,
  );
  // What the live index (live-commands.ts) loads: the commands under way, through the partial
  // index of live states, and the QoS 1 deliveries of the SENT ones not yet acknowledged.
  const liveRows = db.prepare(
    "SELECT * FROM commands INDEXED BY commands_instance_status WHERE delivery_status = 'PENDING' OR delivery_status = 'SENT' ORDER BY id",
  );
  const liveDeliveries = db.prepare(
    `SELECT d.command_id, d.session_instance_id, d.client_id, d.message_id
     FROM commands c INDEXED BY commands_instance_status JOIN command_deliveries d ON d.command_id = c.id
     WHERE c.delivery_status = 'SENT' AND d.qos = 1 AND d.time_acknowledged IS NULL AND d.message_id IS NOT NULL`,
  );
  const live = liveCommands({
    commands: () => liveRows.all() as CommandRow[],
    deliveries: () => liveDeliveries.all() as Array<{ command_id: number; session_instance_id: string; client_id: string; message_id: number }>,
  });
  // Kept by the schema's triggers: per device and response topic, the command that finished last, if without its response.
  const lastFinishedFor = db.prepare(
    `SELECT c.* FROM command_last_finished f JOIN commands c ON c.id = f.command_id
     WHERE f.digital_twin_instance_id = ? AND f.response_endpoint = ?`,
  );
  const clearDeadline = db.prepare('UPDATE commands SET next_deadline_ms = NULL WHERE id = ?');
  const eventsOf = db.prepare('SELECT from_status, to_status, cause FROM command_events WHERE command_id = ? ORDER BY id');
  const newest = db.prepare('SELECT * FROM commands ORDER BY id DESC LIMIT ?');
  const countByStatus = db.prepare('SELECT delivery_status AS status, count(*) AS n FROM commands GROUP BY delivery_status');
  const rawCommandData = db.prepare('SELECT * FROM raw_command_data WHERE id = ?');
  const rawData = rawDataStore(db);

  /**
   * `fn` in a transaction of its own, or, called inside one (the write batch's savepoint for
   * the write it belongs to), in that one: whatever fails there undoes the caller's whole
   * write, so a savepoint per store call would only repeat it.
   */
  function atomic<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const own = transaction(fn);
    return (...args) => (db.inTransaction ? fn(...args) : own(...args));
  }

  /**
   * `db.transaction(fn)` for a change of commands: one that rolls back makes the live index
   * load again (live-commands.ts). Any transaction that writes commands must be one of these,
   * or the write batch (which calls `forgetLive` when one of its writes rolls back).
   */
  function transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const tx = db.transaction(fn);
    return (...args) => {
      try {
        return tx(...args);
      } catch (err) {
        live.forget();
        throw err;
      }
    };
  }

  /** The UPDATE statements made so far, by the columns they set, in the order given. */
  interface UpdateNode {
    columns: string[];
    next: Map<string, UpdateNode>;
    statement?: Statement;
  }
  const updates: UpdateNode = { columns: [], next: new Map() };

  function event(commandId: number, from: DeliveryStatus | null, to: DeliveryStatus, note: EventNote): void {
    insertEvent.run(commandId, note.time, from, to, note.cause, note.detail ? JSON.stringify(note.detail) : null);
  }

  /**
   * Moves a command from `from` to new values, only if it is still in `from`; the
   * condition is what keeps terminal states final when two causes race.
   */
  function update(id: number, from: DeliveryStatus, set: Partial<NewCommand>): boolean {
    const values: unknown[] = [];
    // The statement for this set of columns, found by walking them: no SQL is built per change.
    let node = updates;
    for (const k in set) {
      values.push(set[k as keyof NewCommand]);
      let next = node.next.get(k);
      if (!next) node.next.set(k, (next = { columns: [...node.columns, k], next: new Map() }));
      node = next;
    }
    node.statement ??= db.prepare(`UPDATE commands SET ${node.columns.map((k) => `${k} = ?`).join(', ')} WHERE id = ? AND delivery_status = ?`);
    values.push(id, from);
    return node.statement.run(...values).changes === 1;
  }

  const create = atomic((row: NewCommand, note: EventNote, sent?: { note: EventNote; deliveries: Delivery[] }): CommandRow => {
    const id = Number(insert.run(valuesOf(row)).lastInsertRowid);
    if (sent) {
      event(id, null, 'PENDING', note);
      event(id, 'PENDING', 'SENT', sent.note);
      for (const d of sent.deliveries) insertDelivery.run(id, d.sessionInstanceId, d.clientId, d.qos, d.messageId, d.time);
    } else {
      event(id, null, row.delivery_status, note);
    }
    // The row as inserted: no column has a default or a trigger, so no read-back is needed.
    const stored: CommandRow = { ...row, id };
    live.inserted(stored, sent?.deliveries);
    return stored;
  });

  const change = atomic(
    (id: number, from: DeliveryStatus, set: Partial<NewCommand>, note: EventNote, effects: ChangeEffects = {}): boolean => {
      const before = live.get(id);
      if (!update(id, from, set)) return false;
      event(id, from, set.delivery_status ?? from, note);
      for (const d of effects.deliveries ?? []) insertDelivery.run(id, d.sessionInstanceId, d.clientId, d.qos, d.messageId, d.time);
      if (effects.acknowledged) {
        const a = effects.acknowledged;
        ackDelivery.run(a.time, id, a.sessionInstanceId, a.clientId);
      }
      live.changed(before, set, effects.deliveries, effects.acknowledged);
      return true;
    },
  );

  const keepPublish = atomic(
    (row: Omit<RawDataRow, 'id'>, late: (rawId: number) => Omit<EventNote, 'time'>): number => {
      const rawId = rawData.insert(row);
      const last = lastFinishedFor.get(row.digital_twin_instance_id, row.endpoint) as CommandRow | undefined;
      if (last && last.delivery_status !== 'COMPLETED') {
        event(last.id, last.delivery_status, last.delivery_status, { ...late(rawId), time: row.time_received });
      }
      return rawId;
    },
  );

  return {
    /**
     * Inserts a new command and its first event; the stored row. With `sent`, the row is
     * already SENT (written at once to a device online): its PENDING event (`note`), its SENT
     * event and its deliveries go in too, as if it had been created and then changed.
     */
    create: (row: NewCommand, note: EventNote, sent?: { note: EventNote; deliveries: Delivery[] }): CommandRow => create(row, note, sent),
    /**
     * Applies `set` to a command still in `from` and records the event of that change
     * (from `from` to `set.delivery_status`, or to `from` for a change that keeps the state);
     * false, and nothing written, if the command had moved on.
     */
    change: (id: number, from: DeliveryStatus, set: Partial<NewCommand>, note: EventNote, effects?: ChangeEffects): boolean =>
      change(id, from, set, note, effects),
    /** Records a connection's PUBACK of a delivery that changes nothing else about its command. */
    acknowledgeDelivery: atomic((commandId: number, ack: ConnectionKey & { time: string }): void => {
      ackDelivery.run(ack.time, commandId, ack.sessionInstanceId, ack.clientId);
      live.acknowledged(commandId, ack);
    }),
    /**
     * Keeps a device publish no command was waiting for as a `raw_data` row. When the command
     * that last finished awaiting a response on its topic did so without one, that command's
     * history records the late response (`late` words it), in the same transaction.
     */
    keepPublish: (row: Omit<RawDataRow, 'id'>, late: (rawId: number) => Omit<EventNote, 'time'>): number =>
      keepPublish(row, late),
    /** A command that can never move again must not come up as due again. */
    clearDeadline: (id: number) => void clearDeadline.run(id),
    get: (id: number) => live.get(id) ?? (byId.get(id) as CommandRow | undefined),
    byRetryToken: (instanceId: string, token: string) => byRetryToken.get(instanceId, token) as CommandRow | undefined,
    clearRetryToken: (id: number) => void clearRetryToken.run(id),
    nextDue: (now: number) => nextDue.get(now) as CommandRow | undefined,
    nextDeadline: () => (nextDeadline.get() as { at: number | null }).at,
    pendingFor: (instanceId: string) => live.pendingFor(instanceId),
    /** Whether the device has a PENDING command (asked after every acknowledgement). */
    hasPending: (instanceId: string) => live.pendingCount(instanceId) > 0,
    countPending: (instanceId: string) => live.pendingCount(instanceId),
    /** A connection's QoS 1 deliveries still unacknowledged, oldest command first (to resend on reconnect). */
    unackedFor: (c: ConnectionKey): UnackedDelivery[] =>
      (unackedFor.all(c.sessionInstanceId, c.clientId) as Array<CommandRow & { delivery_message_id: number }>).map(
        ({ delivery_message_id, ...command }) => ({ command, messageId: delivery_message_id }),
      ),
    /** The packet ids a connection has in flight: its QoS 1 window. */
    inFlightMessageIds: (c: ConnectionKey) => live.inFlight(c),
    /**
     * The command a connection's PUBACK of `messageId` acknowledges: a SENT one from memory,
     * else (a late PUBACK of a command that finished first) from its delivery row.
     */
    byMessageId: (c: ConnectionKey, messageId: number) =>
      live.byMessageId(c, messageId) ?? (byMessageId.get(c.sessionInstanceId, c.clientId, messageId) as CommandRow | undefined),
    /**
     * What a device publish is, decided once for every stage that handles it: the response to
     * the oldest SENT command awaiting one on `endpoint` (the publisher's own, or one it
     * carried as a gateway for an INDIRECT instance), or telemetry.
     */
    classifyPublish: (publisherId: string, endpoint: string): PublishClass => {
      const command = live.awaiting(publisherId, endpoint);
      return command ? { kind: 'response', command } : TELEMETRY;
    },
    /** `db.transaction(fn)` for a change of commands that spans more than one store call (see `transaction`). */
    transaction,
    /** A write of the batch rolled back (its savepoint, or the whole batch): the live index loads again. */
    forgetLive: () => live.forget(),
    /** A command's history, oldest first. */
    events: (id: number) => eventsOf.all(id) as CommandEventRow[],
    /** The newest commands first. */
    newest: (limit: number) => newest.all(limit) as CommandRow[],
    /** How many commands are in each state (states with none are absent). */
    countByStatus: () => countByStatus.all() as Array<{ status: DeliveryStatus; n: number }>,
    /** A command as users query it: OCI's `raw_command_data` columns. */
    rawCommandData: (id: number) => rawCommandData.get(id) as RawCommandData | undefined,
  };
}

export type CommandStore = ReturnType<typeof commandStore>;
