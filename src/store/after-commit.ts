import type { Db } from './database.js';

/** Side effects waiting for the batch transaction that is open on each database. */
const queues = new WeakMap<Db, Array<() => void>>();

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
  queues.set(db, queue);
  let result: T;
  try {
    result = db.transaction(body)();
  } finally {
    queues.delete(db);
  }
  for (const effect of queue) effect();
  return result;
}
