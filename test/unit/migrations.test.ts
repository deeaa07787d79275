import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openDatabase, SchemaVersionError } from '../../src/store/database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oci-iot-migrate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);

it('upgrades a version 1 database in place, keeping its rows', () => {
  const old = new Database(join(dir, 'emulator.db'));
  old.exec(MIGRATIONS[0] as string);
  old.pragma('user_version = 1');
  old.prepare("INSERT INTO emulator_meta (key, value) VALUES ('note', 'from v1')").run();
  old.close();

  const db = openDatabase(dir);
  expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  expect(tables(db)).toEqual(expect.arrayContaining(['commands', 'mqtt_subscriptions', 'mqtt_outgoing', 'mqtt_wills']));
  expect(db.prepare("SELECT value FROM emulator_meta WHERE key = 'note'").get()).toEqual({ value: 'from v1' });
  db.close();
});

it('refuses a database from a newer emulator with a clear message, and leaves it untouched', () => {
  const future = new Database(join(dir, 'emulator.db'));
  future.exec('CREATE TABLE from_the_future (x)');
  future.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  future.close();

  expect(() => openDatabase(dir)).toThrow(SchemaVersionError);
  expect(() => openDatabase(dir)).toThrow(/newer than this emulator understands/);
  const again = new Database(join(dir, 'emulator.db'));
  expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
  expect(tables(again)).toEqual(['from_the_future']);
  again.close();
});
