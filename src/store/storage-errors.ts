/**
 * What an SQLite error says about the storage under the database, as opposed to a wrong
 * statement. A full disk, a read-only file system, an I/O error, a lock held too long or a
 * damaged page are faults of the storage: the caller is told to come back later (503), the
 * write is tried again, and the process goes on. Anything else SQLite refuses (a constraint,
 * a type mismatch) is a mistake in the statement and stays an internal error.
 */
export type StorageFaultKind = 'full' | 'read-only' | 'io' | 'busy' | 'corrupt' | 'cannot-open';

export interface StorageFault {
  kind: StorageFaultKind;
  /** SQLite's extended result code, e.g. SQLITE_FULL or SQLITE_IOERR_WRITE. */
  code: string;
  /** What a person reads: the cause in plain words, then SQLite's own message. */
  message: string;
}

const KINDS: Array<[prefix: string, kind: StorageFaultKind, says: string]> = [
  ['SQLITE_FULL', 'full', 'the disk (or the database) is full'],
  ['SQLITE_READONLY', 'read-only', 'the database cannot be written (read-only file or file system)'],
  ['SQLITE_IOERR', 'io', 'the disk reported an I/O error'],
  ['SQLITE_BUSY', 'busy', 'the database is locked by another connection'],
  ['SQLITE_LOCKED', 'busy', 'the database is locked by another connection'],
  ['SQLITE_PROTOCOL', 'busy', 'the database is locked by another connection'],
  ['SQLITE_CORRUPT', 'corrupt', 'the database file is damaged'],
  ['SQLITE_NOTADB', 'corrupt', 'the database file is damaged'],
  ['SQLITE_CANTOPEN', 'cannot-open', 'the database file cannot be opened'],
];

/** The SQLite result code of `err`, or null when it is not an SQLite error. */
export function sqliteCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null;
}

/** The storage fault `err` is, or null when it is not one (not SQLite's, or a statement's own mistake). */
export function storageFault(err: unknown): StorageFault | null {
  const code = sqliteCode(err);
  if (!code) return null;
  const match = KINDS.find(([prefix]) => code === prefix || code.startsWith(`${prefix}_`));
  if (!match) return null;
  return { kind: match[1], code, message: `${match[2]} (${code}: ${(err as Error).message})` };
}

export const isStorageFault = (err: unknown): boolean => storageFault(err) !== null;

/** How long a caller refused for a storage fault is told to wait, in seconds (retry-after). */
export const RETRY_AFTER_SECONDS = 5;
