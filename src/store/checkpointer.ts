import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './database.js';

/**
 * Copies the WAL back into the database file from a worker thread, on a connection of its
 * own, so the event loop rarely waits for it. SQLite's own checkpoint runs inside the
 * commit that crosses its threshold (1,000 pages), in the thread that commits, and its two
 * fsyncs took 5-10 ms: at a few hundred commands a second that stalled the event loop many
 * times a second, the tail of the command latency (bench/results/hot-7-checkpoint-worker.md).
 *
 * The worker checkpoints PASSIVE (never waiting for the writer) every `intervalMs` and says
 * how long the WAL is. SQLite starts the WAL over only when a write finds it fully copied,
 * which a steady load may never let happen while another thread copies; so once it is
 * longer than `restartFrames`, the event loop checkpoints once itself. By then the worker
 * has copied nearly all of it, and no commit can come between that checkpoint and the next
 * write, which starts the WAL anew. Without the worker, SQLite's own checkpoint takes over
 * again.
 */
export interface Checkpointer {
  /**
   * Counts a commit. The worker starts at the `startAfterCommits`-th: a test suite that
   * sends a few commands never pays for a thread, a load does.
   */
  noteCommit(): void;
  /** Stops the worker and closes its connection; the database's own close then checkpoints the rest. */
  close(): Promise<void>;
}

const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.sqlitePath);
const db = new Database(workerData.file, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    const { log, checkpointed } = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ log, checkpointed });
  } catch {
    // Busy or closing: the next tick tries again.
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** SQLite's default autocheckpoint, in pages. */
const DEFAULT_AUTOCHECKPOINT = 1000;

export interface CheckpointerOptions {
  intervalMs?: number;
  restartFrames?: number;
  startAfterCommits?: number;
  /** Told of a checkpoint of the event loop's own that failed (a full or failing disk); the next report tries again. */
  onError?: (err: unknown) => void;
  /** Each of the worker's checkpoints, as SQLite reports it (frames in the WAL, frames copied). */
  onReport?: (report: { log: number; checkpointed: number }) => void;
}

export function createCheckpointer(db: Db, options: CheckpointerOptions = {}): Checkpointer {
  const onDisk = !db.memory && db.name !== ':memory:' && db.name !== '';
  const restartFrames = options.restartFrames ?? 4_000;
  let commits = 0;
  let running: { worker: Worker; gone: Promise<void> } | null = null;
  let closed = false;

  function start() {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        file: db.name,
        sqlitePath: createRequire(import.meta.url).resolve('better-sqlite3'),
        intervalMs: options.intervalMs ?? 100,
      },
    });
    worker.unref();
    db.pragma('wal_autocheckpoint = 0');
    worker.on('message', (report: { log: number; checkpointed: number }) => {
      try {
        if (report.log > restartFrames && db.open && !db.inTransaction) db.pragma('wal_checkpoint(PASSIVE)');
      } catch (err) {
        // A full or failing disk: the WAL stays long until the next report tries again.
        options.onError?.(err);
      }
      options.onReport?.(report);
    });
    // A worker that fails leaves SQLite's own checkpoint in charge: nothing is lost, commits only stall again.
    worker.on('error', () => {});
    const gone = new Promise<void>((resolve) => {
      worker.once('exit', () => {
        try {
          if (db.open) db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
        } catch (err) {
          options.onError?.(err);
        }
        resolve();
      });
    });
    running = { worker, gone };
  }

  return {
    noteCommit() {
      if (onDisk && !closed && ++commits === (options.startAfterCommits ?? 200)) start();
    },
    async close() {
      closed = true;
      if (!running) return;
      // Held until it has exited: with nothing else left, the process would end mid-close.
      running.worker.ref();
      running.worker.postMessage('close');
      await running.gone;
    },
  };
}
