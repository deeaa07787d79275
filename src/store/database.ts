import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createWith, migratedBytes } from './fresh-database.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

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

export class SchemaVersionError extends Error {}

export function databasePath(dataDir: string): string {
  return dataDir === ':memory:' ? ':memory:' : resolve(join(dataDir, 'emulator.db'));
}

/** Opens (creating if needed) the emulator database and brings its schema up to date. */
export function openDatabase(dataDir: string, durability: 'normal' | 'full' = 'normal'): Db {
  const file = databasePath(dataDir);
  // A new database starts as a copy of one the migrations made earlier in this process;
  // an existing one is opened as it is and migrated below.
  if (file !== ':memory:') {
    mkdirSync(dataDir, { recursive: true });
    if (!existsSync(file)) createWith(file, migratedBytes(migrate).wal);
  }
  const db = file === ':memory:' ? new Database(migratedBytes(migrate).memory) : new Database(file);
  try {
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
    db.close();
    throw err;
  }
  return db;
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
