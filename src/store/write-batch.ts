import type { Db } from './database.js';

/**
 * The batch of device writes: what devices send that changes the database (publishes, and
 * PUBACKs of commands) is applied in arrival order, in one SQLite transaction per turn of
 * the event loop. A commit per message was the largest cost under load
 * (bench/results/fix-3-batch-device-publishes.md). Transactions opened by a write nest as
 * savepoints, so a write that fails undoes only itself.
 *
 * It also holds what must wait for that commit: bytes to a device and announcements of a
 * state change must never get ahead of the row that makes them true. The composition root
 * creates one per database and hands it to the broker (which adds device writes and defers
 * command bytes) and to the command engine (which defers its announcements).
 */
export interface WriteBatch {
  /**
   * Queues `apply` for this turn's transaction. `done` runs after the commit with null, or
   * with the error that undid this write (or the whole batch).
   */
  add(apply: () => void, done: (err: Error | null) => void): void;
  /** Runs `effect` now, or, while a batch is being applied, once it commits; a rollback drops it. */
  afterCommit(effect: () => void): void;
  /**
   * Runs `work` at the end of the batch being applied, still inside its transaction, or now
   * outside a batch. The adapter pipeline maps a whole batch of device messages at once this
   * way, and its rows commit (or roll back) with the raw_data rows they come from. `work`
   * must not throw: it would undo the whole batch.
   */
  atEnd(work: () => void): void;
}

export function createWriteBatch(db: Db): WriteBatch {
  const pending: Array<{ apply: () => void; done: (err: Error | null) => void }> = [];
  /** Effects waiting for the transaction being applied; null when none is. */
  let effects: Array<() => void> | null = null;
  /** Work for the end of the transaction being applied; null when none is. */
  let endings: Array<() => void> | null = null;

  function flush(): void {
    const writes = pending.splice(0);
    const errors = writes.map((): Error | null => null);
    try {
      const queued: Array<() => void> = [];
      const ending: Array<() => void> = [];
      effects = queued;
      endings = ending;
      try {
        db.transaction(() => {
          writes.forEach((write, i) => {
            try {
              write.apply();
            } catch (err) {
              errors[i] = err as Error;
            }
          });
          while (ending.length > 0) ending.shift()!();
        })();
      } finally {
        effects = null;
        endings = null;
      }
      for (const effect of queued) effect();
    } catch (err) {
      errors.fill(err as Error);
    }
    // A publish that was not stored is not acknowledged: the connection closes and the device may retry.
    writes.forEach((write, i) => write.done(errors[i]));
  }

  return {
    add(apply, done) {
      if (pending.push({ apply, done }) === 1) setImmediate(flush);
    },
    afterCommit(effect) {
      if (effects && db.inTransaction) effects.push(effect);
      else effect();
    },
    atEnd(work) {
      if (endings && db.inTransaction) endings.push(work);
      else work();
    },
  };
}
