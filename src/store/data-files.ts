import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureDirectory, errnoReason, permissionDenied, StartError } from '../errors.js';

/** A data directory or database file the emulator cannot start on; the message says which and what to do. */
export class DataFileError extends StartError {}

/** The files of a data directory, each checked before anything opens it. */
export const DATA_FILES = ['emulator.db', 'emulator.db-wal', 'emulator.db-shm', 'emulator.lock', 'emulator.pid'] as const;

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

const reason = errnoReason;

/**
 * Checks the data directory before the emulator takes its lock or opens its database, so
 * that a directory it cannot use is refused with one line naming the file and the remedy,
 * and nothing is changed: created if missing, it must be a writable directory, and every
 * file of the emulator's in it must be a readable and writable regular file; an existing
 * database must start with SQLite's header. `access(2)` is asked, not the mode bits, so a
 * read-only mount and an immutable file are seen for root too.
 */
export function checkDataDir(dataDir: string): void {
  const dir = resolve(dataDir);
  ensureDirectory(dir, 'data directory', '--data-dir', (m) => new DataFileError(m));
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const denied = permissionDenied(err);
    throw new DataFileError(
      denied
        ? `the data directory ${dir} is not writable by ${denied.who} (${reason(err)}): ${denied.fix}, or give another with --data-dir / OCI_IOT_DATA_DIR`
        : `the data directory ${dir} is not writable (${reason(err)}): make it writable (for a read-only mount, remount it read-write), or give another --data-dir`,
    );
  }
  for (const name of DATA_FILES) {
    const file = join(dir, name);
    let isFile: boolean;
    try {
      isFile = statSync(file).isFile();
    } catch {
      continue;
    }
    if (!isFile) throw new DataFileError(`${file} is not a regular file: move it away`);
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new DataFileError(
        `${file} cannot be read and written (${reason(err)}): give the emulator's user read and write access to it (chmod u+rw, chown, or chattr -i), or give another --data-dir`,
      );
    }
  }
  checkHeader(join(dir, 'emulator.db'));
}

function checkHeader(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return;
  }
  try {
    const size = statSync(file).size;
    // An empty file is what SQLite itself creates first; it becomes a database.
    if (size === 0) return;
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, head, 0, head.length, 0);
    if (read < head.length || !head.equals(SQLITE_HEADER)) {
      throw new DataFileError(
        `${file} is not an SQLite database (its header is damaged): restore it from a backup, or move it away to start with an empty database`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The one-line answer for an SQLite error met while opening and checking the database at
 * start (damage found by the header check's subtler cousins, a file gone read-only, a full
 * disk); null for anything else, which is a bug to show with its stack.
 */
export function openFailure(file: string, err: unknown): DataFileError | null {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  const message = (err as Error).message;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new DataFileError(`${file} is damaged (${message}): ${DAMAGED_REMEDY}`);
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return new DataFileError(`${file} cannot be opened for writing (${code}: ${message}): give the emulator's user read and write access to it and its directory, or give another --data-dir`);
  }
  if (code === 'SQLITE_FULL') return new DataFileError(`the disk of ${file} is full (${message}): free some space, or give another --data-dir`);
  if (code.startsWith('SQLITE_IOERR')) return new DataFileError(`${file} cannot be read or written (${code}: ${message}): check the disk, or give another --data-dir`);
  return null;
}

export const DAMAGED_REMEDY =
  'restore it from a backup, or save what is readable with `sqlite3 emulator.db .recover | sqlite3 recovered.db` and start on the recovered file';
