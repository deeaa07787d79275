import type { CommandRow, ConnectionKey, Delivery } from './commands.js';

/**
 * The commands still under way (PENDING, SENT) and their connections' QoS 1 windows, held in
 * memory beside their rows, so the reads every command makes (a PUBACK's command, a device
 * publish's classification, a connection's packet ids in flight, a device's PENDING
 * commands) read no row back: about a tenth of a two-way command's CPU was these reads
 * (bench/results/s5-live-commands.md).
 *
 * The rows stay the record. The store (commands.ts) tells this index of every change it
 * makes, right after the statement that made it, inside the transaction; a transaction or a
 * savepoint that rolls back afterwards calls `forget()`, and the next read loads the index
 * again from the rows as they then are (inside a transaction, its own view of them). So a
 * rollback, rare (a full disk, a bug), costs one reload, and no change needs an undo.
 */
export interface LiveRows {
  /** Live commands (PENDING, SENT). */
  commands(): CommandRow[];
  /** The QoS 1 deliveries of the SENT ones not yet acknowledged. */
  deliveries(): Array<{ command_id: number; session_instance_id: string; client_id: string; message_id: number }>;
}

const key = (a: string, b: string) => `${a}\u0000${b}`;
/** Finished commands' deliveries kept for a late PUBACK, at most (each a few hundred bytes). */
const LATE_ACKS = 10_000;
interface LateAck {
  connection: string;
  messageId: number;
  commandId: number;
}
const isLive = (row: CommandRow) => row.delivery_status === 'PENDING' || row.delivery_status === 'SENT';

export function liveCommands(load: LiveRows) {
  let loaded = false;
  const rows = new Map<number, CommandRow>();
  /** Per instance, its PENDING command ids. */
  const pending = new Map<string, Set<number>>();
  /** Per (instance, response endpoint), its SENT two-way command ids, oldest first. */
  const awaitingOwn = new Map<string, number[]>();
  /** Per (gateway, response endpoint), the SENT two-way commands it carried for INDIRECT instances, oldest first. */
  const awaitingVia = new Map<string, number[]>();
  /** Per connection, packet id → the SENT command whose QoS 1 delivery it has not acknowledged. */
  const windows = new Map<string, Map<number, number>>();
  /** Per SENT command, the connections whose window holds it, with its packet id there. */
  const heldBy = new Map<number, Array<{ connection: string; messageId: number }>>();
  /**
   * Per connection, packet id → a command that finished before this connection acknowledged
   * it (a device often publishes its response before Aedes reports the PUBACK of the
   * command): the PUBACK still finds its command here. At most LATE_ACKS of them, oldest
   * forgotten first; a PUBACK that finds none here reads the delivery rows.
   */
  const lateAcks = new Map<string, Map<number, LateAck>>();
  /** The same entries, oldest first: the first to forget. */
  const lateOrder = new Set<LateAck>();
  /** Finished commands still in `lateAcks`, by id, as stored, with how many PUBACKs may still come. */
  const finished = new Map<number, { row: CommandRow; awaited: number }>();

  function addSorted(map: Map<string, number[]>, k: string, id: number): void {
    const list = map.get(k);
    if (!list) return void map.set(k, [id]);
    // Nearly always the newest: a command leaves PENDING late only after a reconnect.
    if (list[list.length - 1] < id) return void list.push(id);
    let i = list.length;
    while (i > 0 && list[i - 1] > id) i--;
    list.splice(i, 0, id);
  }

  function removeFrom(map: Map<string, number[]>, k: string, id: number): void {
    const list = map.get(k);
    if (!list) return;
    const i = list.indexOf(id);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) map.delete(k);
  }

  function index(row: CommandRow): void {
    if (!isLive(row)) return;
    rows.set(row.id, row);
    if (row.delivery_status === 'PENDING') {
      const ids = pending.get(row.digital_twin_instance_id);
      if (ids) ids.add(row.id);
      else pending.set(row.digital_twin_instance_id, new Set([row.id]));
    } else if (row.response_endpoint !== null) {
      addSorted(awaitingOwn, key(row.digital_twin_instance_id, row.response_endpoint), row.id);
      if (row.gateway_instance_id !== null) addSorted(awaitingVia, key(row.gateway_instance_id, row.response_endpoint), row.id);
    }
  }

  function unindex(row: CommandRow): void {
    if (!rows.delete(row.id)) return;
    if (row.delivery_status === 'PENDING') {
      const ids = pending.get(row.digital_twin_instance_id);
      ids?.delete(row.id);
      if (ids?.size === 0) pending.delete(row.digital_twin_instance_id);
    } else if (row.response_endpoint !== null) {
      removeFrom(awaitingOwn, key(row.digital_twin_instance_id, row.response_endpoint), row.id);
      if (row.gateway_instance_id !== null) removeFrom(awaitingVia, key(row.gateway_instance_id, row.response_endpoint), row.id);
    }
  }

  function dropLate(connection: string, messageId: number): void {
    const late = lateAcks.get(connection);
    const entry = late?.get(messageId);
    if (!entry) return;
    late!.delete(messageId);
    if (late!.size === 0) lateAcks.delete(connection);
    lateOrder.delete(entry);
    const done = finished.get(entry.commandId);
    if (done && --done.awaited === 0) finished.delete(entry.commandId);
  }

  /** A connection's late PUBACK of `commandId`. */
  function lateAcknowledged(commandId: number, connection: string): void {
    const late = lateAcks.get(connection);
    if (!late) return;
    for (const [messageId, entry] of late) if (entry.commandId === commandId) dropLate(connection, messageId);
  }

  /** A SENT command finished with these connections' deliveries unacknowledged: their PUBACKs may still come. */
  function awaitLateAcks(row: CommandRow, held: Array<{ connection: string; messageId: number }>): void {
    finished.set(row.id, { row, awaited: held.length });
    for (const h of held) {
      dropLate(h.connection, h.messageId);
      let late = lateAcks.get(h.connection);
      if (!late) lateAcks.set(h.connection, (late = new Map()));
      const entry: LateAck = { connection: h.connection, messageId: h.messageId, commandId: row.id };
      late.set(h.messageId, entry);
      lateOrder.add(entry);
    }
    while (lateOrder.size > LATE_ACKS) {
      const oldest = lateOrder.values().next().value!;
      dropLate(oldest.connection, oldest.messageId);
    }
  }

  function hold(commandId: number, connection: string, messageId: number): void {
    // A newer command has the packet id now: a PUBACK of it is this one's.
    dropLate(connection, messageId);
    let window = windows.get(connection);
    if (!window) windows.set(connection, (window = new Map()));
    window.set(messageId, commandId);
    const held = heldBy.get(commandId);
    if (held) held.push({ connection, messageId });
    else heldBy.set(commandId, [{ connection, messageId }]);
  }

  function release(commandId: number, connection?: string): void {
    const held = heldBy.get(commandId);
    if (!held) return;
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held[i];
      if (connection !== undefined && h.connection !== connection) continue;
      const window = windows.get(h.connection);
      if (window?.get(h.messageId) === commandId) {
        window.delete(h.messageId);
        if (window.size === 0) windows.delete(h.connection);
      }
      held.splice(i, 1);
    }
    if (held.length === 0) heldBy.delete(commandId);
  }

  function ensureLoaded(): void {
    if (loaded) return;
    rows.clear();
    pending.clear();
    awaitingOwn.clear();
    awaitingVia.clear();
    windows.clear();
    heldBy.clear();
    lateAcks.clear();
    lateOrder.clear();
    finished.clear();
    for (const row of load.commands()) index(row);
    for (const d of load.deliveries()) hold(d.command_id, key(d.session_instance_id, d.client_id), d.message_id);
    loaded = true;
  }

  const oldestOf = (map: Map<string, number[]>, k: string): CommandRow | undefined => {
    const id = map.get(k)?.[0];
    return id === undefined ? undefined : rows.get(id);
  };

  return {
    /** A row was inserted, with the deliveries written with it. */
    inserted(row: CommandRow, deliveries: Delivery[] = []): void {
      if (!loaded) return;
      index(row);
      if (row.delivery_status === 'SENT') for (const d of deliveries) if (d.qos === 1 && d.messageId !== null) hold(row.id, key(d.sessionInstanceId, d.clientId), d.messageId);
    },
    /**
     * A row changed from `before` (as stored until now; undefined when this index does not
     * hold it, a finished command) by `set`, with the deliveries written and the connection
     * whose PUBACK it records.
     */
    changed(before: CommandRow | undefined, set: Partial<CommandRow>, deliveries: Delivery[] = [], acknowledged?: ConnectionKey): void {
      if (!loaded || !before) return;
      const row: CommandRow = { ...before, ...set };
      const ack = acknowledged && key(acknowledged.sessionInstanceId, acknowledged.clientId);
      const done = finished.get(row.id);
      if (done) {
        // A finished command's late PUBACK: only its row and that connection's entry change.
        done.row = row;
        if (ack) lateAcknowledged(row.id, ack);
        return;
      }
      unindex(before);
      index(row);
      if (row.delivery_status === 'SENT') {
        for (const d of deliveries) if (d.qos === 1 && d.messageId !== null) hold(row.id, key(d.sessionInstanceId, d.clientId), d.messageId);
        if (ack) release(row.id, ack);
      } else if (before.delivery_status === 'SENT') {
        if (ack) release(row.id, ack);
        const held = [...(heldBy.get(row.id) ?? [])];
        release(row.id);
        if (held.length > 0) awaitLateAcks(row, held);
      }
    },
    /** A connection's PUBACK of a command recorded without any other change to it. */
    acknowledged(commandId: number, connection: ConnectionKey): void {
      if (!loaded) return;
      const c = key(connection.sessionInstanceId, connection.clientId);
      release(commandId, c);
      lateAcknowledged(commandId, c);
    },
    /** What was told since the last commit may have been rolled back: load again at the next read. */
    forget(): void {
      loaded = false;
    },
    /** The live command, or undefined (not live, or no such command). */
    get(id: number): CommandRow | undefined {
      ensureLoaded();
      return rows.get(id) ?? finished.get(id)?.row;
    },
    /** The instance's PENDING commands, oldest first. */
    pendingFor(instanceId: string): CommandRow[] {
      ensureLoaded();
      const ids = [...(pending.get(instanceId) ?? [])].sort((a, b) => a - b);
      return ids.map((id) => rows.get(id)!);
    },
    pendingCount(instanceId: string): number {
      ensureLoaded();
      return pending.get(instanceId)?.size ?? 0;
    },
    inFlight(c: ConnectionKey): Set<number> {
      ensureLoaded();
      return new Set(windows.get(key(c.sessionInstanceId, c.clientId))?.keys());
    },
    /**
     * The command a connection's QoS 1 delivery of `messageId` carried, not yet acknowledged:
     * a SENT one, or one that finished first (undefined also when forgotten: ask the rows).
     */
    byMessageId(c: ConnectionKey, messageId: number): CommandRow | undefined {
      ensureLoaded();
      const connection = key(c.sessionInstanceId, c.clientId);
      const live = windows.get(connection)?.get(messageId);
      if (live !== undefined) return rows.get(live);
      const late = lateAcks.get(connection)?.get(messageId);
      return late === undefined ? undefined : finished.get(late.commandId)?.row;
    },
    /** The oldest SENT command awaiting a response from `publisher` on `endpoint`: its own, else one it carried as a gateway. */
    awaiting(publisher: string, endpoint: string): CommandRow | undefined {
      ensureLoaded();
      const k = key(publisher, endpoint);
      return oldestOf(awaitingOwn, k) ?? oldestOf(awaitingVia, k);
    },
  };
}

export type LiveCommands = ReturnType<typeof liveCommands>;
