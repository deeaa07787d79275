import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createWith, migratedBytes } from './fresh-database.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { StartError } from '../errors.js';
import { DAMAGED_REMEDY, DataFileError, openFailure } from './data-files.js';

export type Db = Database.Database;

const statements = new WeakMap<Db, Map<string, Database.Statement>>();
// Bounds the cache even if some caller ever builds SQL from varying input.
const MAX_CACHED_STATEMENTS = 500;

/**
 * The prepared statement for `sql`, compiled once per connection. Compiling a statement
 * against this schema costs more than running most of ours, and the hot paths (command
 * transitions, the instance lookup of every invoke, device logins) ran one per call.
 * Callers must not switch the returned statement's modes (pluck, raw, expand).
 */
export function prepared(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) {
    if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
    statement = db.prepare(sql);
    cache.set(sql, statement);
  }
  return statement;
}

export class SchemaVersionError extends StartError {}

export function databasePath(dataDir: string): string {
  return dataDir === ':memory:' ? ':memory:' : resolve(join(dataDir, 'emulator.db'));
}

/**
 * How much of an existing database is checked at start: `quick` is SQLite's `quick_check`
 * (every page read once, indexes not matched to their tables), `full` its `integrity_check`.
 */
export type StartCheck = 'none' | 'quick' | 'full';

/**
 * The largest database given the quick check at every start. quick_check reads every page:
 * on a 1 GB database it took 2.7 s with the file in the page cache and 34 s from disk on a
 * loaded 2-core machine, so above this size it is left to --check-database.
 */
export const QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024;

/** The check a database gets at start: full when asked, quick when it is small enough. */
export function startCheckFor(dataDir: string, full: boolean): StartCheck {
  if (full) return 'full';
  const file = databasePath(dataDir);
  if (file === ':memory:') return 'none';
  try {
    return statSync(file).size <= QUICK_CHECK_MAX_BYTES ? 'quick' : 'none';
  } catch {
    return 'none';
  }
}

/** Opens (creating if needed) the emulator database, checks it, and brings its schema up to date. */
export function openDatabase(dataDir: string, durability: 'normal' | 'full' = 'normal', check: StartCheck = 'none'): Db {
  const file = databasePath(dataDir);
  // A new database starts as a copy of one the migrations made earlier in this process;
  // an existing one is opened as it is and migrated below.
  let fresh = false;
  if (file !== ':memory:') {
    mkdirSync(dataDir, { recursive: true });
    if (!existsSync(file)) {
      createWith(file, migratedBytes(migrate).wal);
      fresh = true;
    }
  }
  let db: Db | undefined;
  try {
    db = file === ':memory:' ? new Database(migratedBytes(migrate).memory) : new Database(file);
    // Checked before anything writes: a damaged file is refused as it was found.
    if (!fresh && file !== ':memory:' && check !== 'none') checkIntegrity(db, file, check);
    // Checked first, so a newer emulator's database is not even switched to WAL.
    checkVersion(db);
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a killed process loses no committed transaction; only power loss
    // can drop the last few. FULL syncs every commit to disk, for power loss too.
    db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db?.close();
    throw openFailure(file, err) ?? err;
  }
  return db;
}

/** Refuses a database SQLite finds damaged, naming the first problems it reports. */
function checkIntegrity(db: Db, file: string, check: 'quick' | 'full'): void {
  const pragma = check === 'quick' ? 'quick_check' : 'integrity_check';
  // At most 20 problems: the first say enough, and a badly damaged file can have millions.
  const problems = (db.pragma(`${pragma}(20)`) as Array<Record<string, string>>)
    .flatMap((row) => String(Object.values(row)[0]).split('\n'))
    // SQLite heads its list with the schema's name; the problems are the other lines.
    .filter((p) => p !== 'ok' && p !== '' && !/^\*\*\* in database \w+ \*\*\*$/.test(p));
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more${problems.length === 20 ? ' at least' : ''})` : '';
  throw new DataFileError(`${file} is damaged: PRAGMA ${pragma} reports "${problems[0]}"${more}: ${DAMAGED_REMEDY}`);
}

/**
 * The database of `dataDir` opened read-only, beside a running emulator or without one
 * (the export command). Null when there is none; an error when its schema is not this
 * emulator's (a start migrates an older one).
 */
export function openExistingReadOnly(dataDir: string): Db | null {
  const file = databasePath(dataDir);
  if (file === ':memory:' || !existsSync(file)) return null;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    if (checkVersion(db) !== SCHEMA_VERSION) throw new SchemaVersionError(`database ${file} is from an older oci-iot-emulator; start this one on it once to bring it up to date`);
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function checkVersion(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new SchemaVersionError(
      `database ${db.name} has schema version ${current}, newer than this emulator understands (${SCHEMA_VERSION}); ` +
        'use a newer oci-iot-emulator or another --data-dir',
    );
  }
  return current;
}

export function migrate(db: Db): void {
  const current = checkVersion(db);
  for (let v = current; v < SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v];
    db.transaction(() => {
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** A connection that cannot write, for user SQL: read-only by construction, not by keyword. */
export function openReadOnly(dataDir: string): Db {
  const file = databasePath(dataDir);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('query_only = ON');
  return db;
}
