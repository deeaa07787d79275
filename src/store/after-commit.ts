import type { Db } from './database.js';

/** Side effects waiting for the batch transaction that is open on each database. */
const queues = new WeakMap<Db, Array<() => void>>();
/** Work to do at the end of the batch, inside its transaction (see atEndOfBatch). */
const endings = new WeakMap<Db, Array<() => void>>();

/**
 * Runs `work` at the end of the current batch, inside its transaction, or now outside a
 * batch. The adapter pipeline maps a whole batch of device messages at once this way, and
 * its rows commit (or roll back) with the raw_data rows they come from. `work` must not throw.
 */
export function atEndOfBatch(db: Db, work: () => void): void {
  const queue = endings.get(db);
  if (queue && db.inTransaction) queue.push(work);
  else work();
}

/**
 * Runs `effect` now, or, inside a batch (see runBatch), once the batch has committed; a
 * batch that rolls back drops it. Bytes to a device and announcements of a state change
 * must never get ahead of the row that makes them true.
 */
export function afterCommit(db: Db, effect: () => void): void {
  const queue = queues.get(db);
  if (queue && db.inTransaction) queue.push(effect);
  else effect();
}

/** Runs `body` as one transaction, then the effects it queued with afterCommit, in order. */
export function runBatch<T>(db: Db, body: () => T): T {
  const queue: Array<() => void> = [];
  const ending: Array<() => void> = [];
  queues.set(db, queue);
  endings.set(db, ending);
  let result: T;
  try {
    result = db.transaction(() => {
      const out = body();
      while (ending.length > 0) ending.shift()!();
      return out;
    })();
  } finally {
    queues.delete(db);
    endings.delete(db);
  }
  for (const effect of queue) effect();
  return result;
}
