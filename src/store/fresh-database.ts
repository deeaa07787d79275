import Database from 'better-sqlite3';
import { closeSync, fsyncSync, linkSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

let template: { memory: Buffer; wal: Buffer } | undefined;

/**
 * The bytes of a database with every migration applied, made once per process. Running the
 * migrations on each new database file (eight transactions, ALTER TABLEs that re-read the
 * whole schema) was the largest cost of a test suite's later `startEmulator()` calls, each
 * of which opens a fresh temporary database; a copy of the result is the same database.
 * `wal`: for a file, already marked as in WAL mode (the file format's version bytes 18
 * and 19 are 2, as `PRAGMA journal_mode = WAL` leaves them: sqlite.org/fileformat2.html),
 * so opening it does not convert it, a synced write of its own; `memory` for an in-memory
 * database, which SQLite refuses in WAL mode.
 */
export function migratedBytes(migrate: (db: Database.Database) => void): { memory: Buffer; wal: Buffer } {
  if (!template) {
    const db = new Database(':memory:');
    try {
      // As openDatabase sets it for the migrations it runs itself.
      db.pragma('foreign_keys = ON');
      migrate(db);
      const memory = db.serialize();
      const wal = Buffer.from(memory);
      wal[18] = 2;
      wal[19] = 2;
      template = { memory, wal };
    } finally {
      db.close();
    }
  }
  return template;
}

/**
 * Creates `file` with `bytes` unless it exists; returns whether it did. The bytes are
 * written to a file of their own and synced first, then linked in under the name (atomic,
 * never over an existing file): another process opening the same new data directory sees
 * no file or a whole one, and after a power loss the database is never a torn copy under
 * WAL frames that build on it.
 */
export function createWith(file: string, bytes: Buffer): boolean {
  const staging = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.new`;
  const fd = openSync(staging, 'wx');
  try {
    try {
      writeFileSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(staging, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(staging);
  }
}
