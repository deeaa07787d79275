import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StartError } from '../errors.js';
import { DataFileError, openFailure } from './data-files.js';

/** A second emulator on a data directory one already runs on. */
export class DataDirLockedError extends StartError {}

export interface DataDirLock {
  release(): void;
}

/**
 * One writer per data directory. The lock is an exclusive SQLite lock on `emulator.lock`
 * (an empty database), taken at once or not at all and held for the life of the emulator:
 * it is a lock of the operating system, so it goes with the process however it ends
 * (kill -9 included), with no stale file to judge by age or by a pid that may have been
 * reused; and SQLite also tells apart two connections of one process, so a second
 * `startEmulator()` in the same process is refused too. `emulator.pid` only says who
 * holds it, for the message.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const file = join(dir, 'emulator.lock');
  const pidFile = join(dir, 'emulator.pid');
  mkdirSync(dir, { recursive: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code;
    // The lock file holds no data: one SQLite cannot read was not made by the emulator.
    if (code === 'SQLITE_NOTADB' || code?.startsWith('SQLITE_CORRUPT')) throw new DataFileError(`${file} is not the emulator's lock file (${code}): delete it`);
    if (code !== 'SQLITE_BUSY') throw openFailure(file, err) ?? err;
    throw new DataDirLockedError(
      `data directory ${dir} is in use by another oci-iot-emulator (${holder(pidFile)}); stop it, or start this one with another --data-dir`,
    );
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  const held = db;
  return {
    release() {
      if (!held.open) return;
      held.exec('ROLLBACK');
      held.close();
    },
  };
}

function holder(pidFile: string): string {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (!Number.isInteger(pid)) return 'pid unknown';
    return pid === process.pid ? `this process, pid ${pid}` : `pid ${pid}`;
  } catch {
    return 'pid unknown';
  }
}
