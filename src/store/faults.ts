import type { Db } from './database.js';

export type FaultScope = 'device' | 'api';

/** A row of `faults`: one injected fault, device side (target = instance id) or API side (target = operation name or `*`). */
export interface FaultRow {
  id: number;
  scope: FaultScope;
  target: string;
  kind: string;
  /** JSON of the kind's own settings (fraction, delay, afterCommands, retryAfter, ...). */
  params: string;
  /** Applications left; null while it applies until cleared. */
  remaining: number | null;
  /** Occasions the fault was consulted for (commands sent, logins, calls). */
  considered: number;
  /** Occasions it took effect. */
  applied: number;
  time_created: string;
  time_cleared: string | null;
}

export interface FaultEffect {
  /** Commands the effect is recorded on: a `command_events` row each, status unchanged. */
  commandIds: number[];
  time: string;
  cause: string;
  detail: Record<string, unknown>;
}

/** Statements over `faults`, and the `command_events` rows that say what a fault did. */
export function faultStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO faults (scope, target, kind, params, remaining, time_created)
     VALUES (@scope, @target, @kind, @params, @remaining, @time_created)`,
  );
  const byId = db.prepare('SELECT * FROM faults WHERE id = ?');
  const active = db.prepare('SELECT * FROM faults WHERE time_cleared IS NULL ORDER BY id');
  const all = db.prepare('SELECT * FROM faults ORDER BY id');
  const clear = db.prepare('UPDATE faults SET time_cleared = ? WHERE id = ? AND time_cleared IS NULL');
  const count = db.prepare(
    `UPDATE faults SET considered = considered + 1, applied = applied + @hit,
       remaining = CASE WHEN remaining IS NULL THEN NULL ELSE remaining - @hit END
     WHERE id = @id`,
  );
  // The command keeps its state: the event only says what happened to it, and why.
  const event = db.prepare(
    `INSERT INTO command_events (command_id, time, from_status, to_status, cause, detail)
     SELECT id, ?, delivery_status, delivery_status, ?, ? FROM commands WHERE id = ?`,
  );
  const unfinished = db.prepare(
    "SELECT id FROM commands WHERE digital_twin_instance_id = ? AND (delivery_status = 'PENDING' OR delivery_status = 'SENT') ORDER BY id",
  );
  const unackedByMessageId = db.prepare(
    `SELECT c.id FROM command_deliveries d INDEXED BY command_deliveries_unacknowledged JOIN commands c ON c.id = d.command_id
     WHERE d.session_instance_id = ? AND d.client_id = ? AND d.message_id = ? AND d.qos = 1 AND d.time_acknowledged IS NULL
       AND c.delivery_status = 'SENT' ORDER BY d.command_id DESC LIMIT 1`,
  );

  const record = (effect: FaultEffect) => {
    const detail = JSON.stringify(effect.detail);
    for (const id of effect.commandIds) event.run(effect.time, effect.cause, detail, id);
  };

  return {
    insert(row: Pick<FaultRow, 'scope' | 'target' | 'kind' | 'params' | 'remaining' | 'time_created'>): FaultRow {
      const id = Number(insert.run(row).lastInsertRowid);
      return byId.get(id) as FaultRow;
    },
    get: (id: number) => byId.get(id) as FaultRow | undefined,
    active: () => active.all() as FaultRow[],
    all: () => all.all() as FaultRow[],
    clear: (id: number, time: string) => clear.run(time, id).changes === 1,
    /**
     * Counts one occasion a fault was consulted for, and when it took effect (`effect`),
     * records that on the commands concerned, in one transaction. Returns the row after.
     */
    consult(id: number, effect: FaultEffect | null): FaultRow {
      return db.transaction(() => {
        count.run({ id, hit: effect ? 1 : 0 });
        if (effect) record(effect);
        return byId.get(id) as FaultRow;
      })();
    },
    /** Records a later consequence of a fault already counted (a delayed command finally written). */
    record(effect: FaultEffect): void {
      db.transaction(() => record(effect))();
    },
    /** Commands of a device still PENDING or SENT: what a dropped connection or refused login holds up. */
    unfinishedCommands: (instanceId: string) => (unfinished.all(instanceId) as Array<{ id: number }>).map((r) => r.id),
    /** The SENT QoS 1 command a PUBACK with this packet id, on this connection, acknowledges. */
    commandAwaitingPuback: (instanceId: string, clientId: string, messageId: number) =>
      (unackedByMessageId.get(instanceId, clientId, messageId) as { id: number } | undefined)?.id,
  };
}

export type FaultStore = ReturnType<typeof faultStore>;
