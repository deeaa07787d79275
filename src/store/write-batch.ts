import type { Db } from './database.js';
import { isStorageFault } from './storage-errors.js';

/**
 * The batch of writes: what devices send that changes the database (publishes, and
 * PUBACKs of commands) and the commands invoked over HTTP are applied in arrival order, in
 * one SQLite transaction per turn of the event loop, or, for device writes, per commit
 * interval (group commit; see WriteTiming). A commit per message
 * was the largest cost under load (bench/results/fix-3-batch-device-publishes.md,
 * bench/results/hot-1-group-commit.md); each caller answers (PUBACK, 202) only after the
 * commit. Each write is a savepoint, so one that fails undoes
 * only itself, and what it deferred is dropped.
 *
 * It also holds what must wait for that commit: bytes to a device and announcements of a
 * state change must never get ahead of the row that makes them true. The composition root
 * creates one per database and hands it to the broker (which adds device writes and defers
 * command bytes) and to the command engine (which defers its announcements).
 */
/**
 * When a write commits. `paced`: within the commit interval of the last commit, it waits
 * for the rest of it (a device's PUBACK or publish: sharing a commit costs the device a
 * fraction of a millisecond). `next-turn`: at the next turn of the event loop, with
 * whatever is queued (an invoke: a caller waits for its 202, and a caller that sends its
 * commands one after another would wait on every one).
 */
export type WriteTiming = 'paced' | 'next-turn';

export interface WriteBatch {
  /**
   * Queues `apply` for the next transaction. `done` runs after the commit with null, or
   * with the error that undid this write (or the whole batch).
   */
  add(apply: () => void, done: (err: Error | null) => void, timing?: WriteTiming): void;
  /** `add` for a write with a result: resolves with what `apply` returned once it is committed. */
  run<T>(apply: () => T, timing?: WriteTiming): Promise<T>;
  /** Runs `effect` now, or, while a batch is being applied, once it commits; a rollback drops it. */
  afterCommit(effect: () => void): void;
  /**
   * Runs `work` at the end of the batch being applied, still inside its transaction, or now
   * outside a batch. The adapter pipeline maps a whole batch of device messages at once this
   * way, and its rows commit (or roll back) with the raw_data rows they come from. `work`
   * runs in a savepoint: if it throws (a stack overflow included), what it wrote is undone
   * and, when given, `split()` names its parts, each then run in a savepoint of its own, and
   * a part that throws again undone and handed to its `failed` (a message becomes
   * rejected_data) — so one bad part costs only itself and every write of the batch commits.
   */
  atEnd(work: () => void, split?: () => Array<{ run(): void; failed(err: unknown): void }>): void;
  /** Applies what is queued now, without waiting for its turn: for closing. */
  drain(): void;
}

export interface WriteBatchOptions {
  /**
   * The least time between two commits of paced writes, in ms. A paced write that arrives
   * within it of the last commit waits for the rest of it, so the device writes of a
   * moderate load share commits: a commit costs about as much as the rows in it (each writes
   * its dirty pages to the WAL), and one command per commit cost the store twice what three
   * per commit do (bench/results/hot-6-commit-pacing.md). After a quiet spell a write
   * commits in the next turn of the event loop, as do `next-turn` writes always. 0 commits
   * every turn.
   */
  commitIntervalMs?: number;
  /** Called after each commit of a batch (the WAL checkpointer counts them), with how many of its writes it holds. */
  onCommit?: (applied: number) => void;
  /**
   * Told of what failed without failing a write: an effect after the commit that threw, or
   * a part of an ending that could not even be rejected. Without it these are dropped.
   */
  onError?: (err: unknown, what: string) => void;
  /**
   * Whether paced writes wait at all just now. Waiting pays only while several commands
   * are under way: for one caller sending commands one after another, every wait is
   * added to every command (a two-way command's response waited a full interval after its
   * PUBACK's commit). Always, when not given.
   */
  paceWhen?: () => boolean;
  /**
   * Told when a write was undone (its savepoint, or the whole batch rolled back): what kept
   * a copy of rows it wrote in memory (the live commands) must read them again.
   */
  onRollback?: () => void;
}

export function createWriteBatch(db: Db, options: WriteBatchOptions = {}): WriteBatch {
  const interval = options.commitIntervalMs ?? 1;
  let lastCommit = -Infinity;
  let scheduled: { timer: ReturnType<typeof setTimeout> } | { immediate: ReturnType<typeof setImmediate> } | null = null;
  const pending: Array<{ apply: () => void; done: (err: Error | null) => void }> = [];
  /** Effects waiting for the transaction being applied; null when none is. */
  let effects: Array<() => void> | null = null;
  type Ending = { work: () => void; split?: () => Array<{ run(): void; failed(err: unknown): void }> };
  /** Work for the end of the transaction being applied; null when none is. */
  let endings: Ending[] | null = null;
  // Each write is a savepoint of the batch's transaction: one that fails undoes all of itself.
  const applyOne = db.transaction((apply: () => void) => apply());

  function flush(): void {
    lastCommit = performance.now();
    scheduled = null;
    const writes = pending.splice(0);
    const errors = writes.map((): Error | null => null);
    try {
      const queued: Array<() => void> = [];
      const ending: Ending[] = [];
      effects = queued;
      endings = ending;
      try {
        db.transaction(() => {
          writes.forEach((write, i) => {
            const mark = queued.length;
            try {
              applyOne(write.apply);
            } catch (err) {
              // A full disk or an I/O error may make SQLite roll back the whole transaction:
              // then no write of the batch is stored, and each must hear so.
              if (!db.inTransaction) throw err;
              errors[i] = err as Error;
              // Its savepoint undid its rows, so what it deferred must not happen either.
              queued.length = mark;
              options.onRollback?.();
            }
          });
          while (ending.length > 0) runEnding(ending.shift()!, queued);
        })();
        options.onCommit?.(errors.filter((e) => e === null).length);
      } finally {
        effects = null;
        endings = null;
      }
      for (const effect of queued) {
        // Committed is committed: an effect that throws must not fail the writes it follows.
        try {
          effect();
        } catch (err) {
          options.onError?.(err, 'an effect after a commit');
        }
      }
    } catch (err) {
      errors.fill(err as Error);
      options.onRollback?.();
    }
    // A publish that was not stored is not acknowledged: the connection closes and the device may retry.
    writes.forEach((write, i) => write.done(errors[i]));
  }

  /**
   * An ending in its savepoint; if it throws, its parts one by one, each isolated. Endings
   * map telemetry and never change a command, so their rollbacks leave the live commands be
   * (a device sending what its adapter rejects must not make every batch reload them).
   */
  function runEnding(ending: Ending, queued: Array<() => void>): void {
    const mark = queued.length;
    try {
      applyOne(ending.work);
      return;
    } catch (err) {
      // The storage refusing the mapped rows refuses the batch: its writes are tried again whole.
      if (!db.inTransaction || isStorageFault(err)) throw err;
      queued.length = mark;
      if (!ending.split) {
        options.onError?.(err, 'work at the end of a batch');
        return;
      }
    }
    for (const part of ending.split()) {
      const partMark = queued.length;
      try {
        applyOne(() => part.run());
      } catch (err) {
        if (!db.inTransaction || isStorageFault(err)) throw err;
        queued.length = partMark;
        try {
          applyOne(() => part.failed(err));
        } catch (again) {
          if (!db.inTransaction || isStorageFault(again)) throw again;
          queued.length = partMark;
          options.onError?.(again, 'a part of the work at the end of a batch');
        }
      }
    }
  }

  function add(apply: () => void, done: (err: Error | null) => void, timing: WriteTiming = 'paced'): void {
    pending.push({ apply, done });
    if (scheduled) {
      if (timing !== 'next-turn' || !('timer' in scheduled)) return;
      // A next-turn write takes the paced ones waiting with it.
      clearTimeout(scheduled.timer);
    }
    const wait = timing === 'paced' && (options.paceWhen?.() ?? true) ? lastCommit + interval - performance.now() : 0;
    scheduled = wait > 0 ? { timer: setTimeout(flush, wait) } : { immediate: setImmediate(flush) };
  }

  return {
    add,
    run<T>(apply: () => T, timing?: WriteTiming): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let result: T;
        add(
          () => {
            result = apply();
          },
          (err) => (err ? reject(err) : resolve(result)),
          timing,
        );
      });
    },
    afterCommit(effect) {
      if (effects && db.inTransaction) effects.push(effect);
      else effect();
    },
    atEnd(work, split) {
      if (endings && db.inTransaction) endings.push({ work, split });
      else work();
    },
    drain() {
      if (!scheduled) return;
      if ('timer' in scheduled) clearTimeout(scheduled.timer);
      else clearImmediate(scheduled.immediate);
      flush();
    },
  };
}
