import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { migrate, openDatabase, SchemaVersionError } from '../../src/store/database.js';
import { createWith } from '../../src/store/fresh-database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oci-iot-migrate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);


/** A database in data/ as a release at schema `version` left it (WAL, as the emulator opens it). */
function writtenAtSchema(version: number): Database.Database {
  const old = new Database(join(dir, 'emulator.db'));
  old.pragma('journal_mode = WAL');
  for (const step of MIGRATIONS.slice(0, version)) {
    if (typeof step === 'string') old.exec(step);
    else step(old);
  }
  old.pragma(`user_version = ${version}`);
  return old;
}

/** Inserts, as an earlier release would have, a two-way command of `device` on cmd/rsp in `status`; its id. */
function insertCommand(db: Database.Database): (device: string, status: string) => number {
  const insert = db.prepare(
    `INSERT INTO commands (digital_twin_instance_id, request_endpoint, request_duration, request_data_format, request_content_type,
       response_endpoint, delivery_status, created_by, time_created, time_updated, iot_domain_id, created_at_ms, request_deadline_ms)
     VALUES (?, 'cmd', 'PT1M', 'JSON', 'application/json', 'rsp', ?, 'me', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'dom', 0, 60000)`,
  );
  return (device, status) => Number(insert.run(device, status).lastInsertRowid);
}

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

it('a PUBACK or a device publish finds its command by index, not by scanning the device history', () => {
  const db = openDatabase(dir);
  const plan = (sql: string, ...args: unknown[]) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
  // A PUBACK names the connection (device and client id) and its packet id.
  expect(plan('SELECT command_id FROM command_deliveries WHERE session_instance_id = ? AND client_id = ? AND message_id = ? AND qos = 1 AND time_acknowledged IS NULL ORDER BY command_id DESC LIMIT 1', 'd', 'c', 1)).toMatch(/USING INDEX command_deliveries_unacknowledged/);
  // A gateway's publish finds the command it carried for an INDIRECT instance.
  expect(plan("SELECT * FROM commands WHERE gateway_instance_id = ? AND delivery_status = 'SENT' AND response_endpoint = ? ORDER BY id LIMIT 1", 'g', 'r')).toMatch(/USING INDEX commands_via_gateway/);
  // A publish no command awaits finds the last command that awaited one on its topic.
  expect(plan('SELECT c.* FROM command_last_finished f JOIN commands c ON c.id = f.command_id WHERE f.digital_twin_instance_id = ? AND f.response_endpoint = ?', 'd', 'r')).toBe(
    'SEARCH f USING PRIMARY KEY (digital_twin_instance_id=? AND response_endpoint=?); SEARCH c USING INTEGER PRIMARY KEY (rowid=?)',
  );
  db.close();
});

it('a new database starts as a copy of a migrated one: the same schema, rows and version as migrating it in place', () => {
  const migrated = new Database(join(dir, 'migrated.db'));
  migrated.pragma('foreign_keys = ON');
  migrate(migrated);
  const db = openDatabase(join(dir, 'fresh'));
  const contents = (d: Database.Database) => ({
    version: d.pragma('user_version', { simple: true }),
    schema: d.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all(),
    rows: tables(d).map((t) => [t, d.prepare(`SELECT * FROM "${t}"`).all()]),
  });
  expect(contents(db)).toEqual(contents(migrated));
  expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  // The copy is written beside the database and linked in; nothing else is left behind.
  expect(readdirSync(join(dir, 'fresh')).filter((f) => !f.startsWith('emulator.db-'))).toEqual(['emulator.db']);
  migrated.close();
  db.close();
});

it('a copy never replaces a database that appeared in the meantime', () => {
  const existing = join(dir, 'emulator.db');
  writeFileSync(existing, 'not ours');
  expect(createWith(existing, Buffer.from('template'))).toBe(false);
  expect(readFileSync(existing, 'utf8')).toBe('not ours');
  expect(readdirSync(dir)).toEqual(['emulator.db']);
});

it("rewrites domain groups' dbConnectionString from sqlite:<short> to OCI's tcps:<host>:<port>/<service> shape, region from the OCID", () => {
  const old = writtenAtSchema(8);
  old.prepare(
    `INSERT INTO iot_domain_groups (id, compartment_id, display_name, type, data_host, db_connection_string, db_token_scope, lifecycle_state, time_created, time_updated)
     VALUES ('ocid1.iotdomaingroup.oc1.eu-frankfurt-1.aaaa', 'c', 'g', 'DEVELOPMENT', 'localhost', 'sqlite:abcdefghijkl', 'urn:oracle:db::id::abcdefghijkl', 'ACTIVE', 't', 't')`,
  ).run();
  old.close();

  const db = openDatabase(dir);
  expect(db.prepare('SELECT db_connection_string FROM iot_domain_groups').get()).toEqual({
    db_connection_string: 'tcps:adb.eu-frankfurt-1.oraclecloud.com:1522/abcdefghijkl_iot.adb.oraclecloud.com',
  });
  db.close();
});

it('rewrites time_observed kept with milliseconds to microseconds, so old and new rows compare as text', () => {
  const old = writtenAtSchema(9);
  old.pragma('foreign_keys = OFF');
  old.prepare("INSERT INTO historized_data (digital_twin_instance_id, content_path, value, time_observed) VALUES ('i', 'p', '1', '2025-09-10T13:47:05.226Z')").run();
  old.prepare("INSERT INTO snapshot_data (digital_twin_instance_id, content_path, value, time_observed) VALUES ('i', 'p', '1', '2025-09-10T13:47:05.226Z')").run();
  old.close();

  const db = openDatabase(dir);
  expect(db.prepare('SELECT time_observed FROM historized_data').get()).toEqual({ time_observed: '2025-09-10T13:47:05.226000Z' });
  expect(db.prepare('SELECT time_observed FROM snapshot_data').get()).toEqual({ time_observed: '2025-09-10T13:47:05.226000Z' });
  db.close();
});

it("opens a database the previous release wrote (schema 8) with commands in every state: a device's live commands are still found, by the live-only index", async () => {
  const { commandStore } = await import('../../src/store/commands.js');
  const old = writtenAtSchema(8);
  const insert = insertCommand(old);
  const ids = Object.fromEntries(['COMPLETED', 'SENT', 'PENDING', 'EXPIRED', 'NOT_RESPONDED', 'REFUSED'].map((s) => [s, insert('dev', s)]));
  old.close();

  const db = openDatabase(dir);
  expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  expect(db.prepare('SELECT count(*) AS n FROM commands').get()).toEqual({ n: 6 });
  // Only the live commands are in the index.
  expect(db.prepare("SELECT id FROM commands INDEXED BY commands_instance_status WHERE digital_twin_instance_id = ? AND delivery_status = 'SENT' ORDER BY id").all('dev')).toEqual([{ id: ids.SENT }]);
  const store = commandStore(db);
  expect(store.pendingFor('dev').map((c) => c.id)).toEqual([ids.PENDING]);
  expect(store.countPending('dev')).toBe(1);
  // The last finished command on the topic (REFUSED never awaited one) carried over, and a late publish is noted on it.
  expect(db.prepare('SELECT command_id FROM command_last_finished WHERE digital_twin_instance_id = ? AND response_endpoint = ?').get('dev', 'rsp')).toEqual({ command_id: ids.NOT_RESPONDED });
  store.keepPublish({ digital_twin_instance_id: 'dev', endpoint: 'rsp', content_type: 'application/json', content: Buffer.from('{}'), time_received: '2026-01-01T00:01:00.000Z' }, () => ({ cause: 'late' }));
  expect(store.events(ids.NOT_RESPONDED).map((e) => e.cause)).toEqual(['late']);
  const publish = store.classifyPublish('dev', 'rsp');
  expect(publish.kind === 'response' && publish.command.id).toBe(ids.SENT);
  const plan = (sql: string, ...args: unknown[]) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
  expect(plan("SELECT count(*) FROM commands WHERE digital_twin_instance_id = ? AND delivery_status = 'PENDING'", 'dev')).toMatch(/INDEX commands_instance_status/);
  db.close();
});

it('opens a database the landed main wrote (schema 11): a late publish is noted only on a command that finished last without its response', async () => {
  const { commandStore } = await import('../../src/store/commands.js');
  const old = writtenAtSchema(11);
  const insert = insertCommand(old);
  const finish = old.prepare('UPDATE commands SET delivery_status = ? WHERE id = ?');
  // Schema 11's trigger: 'a' last finished COMPLETED, 'b' last finished NOT_RESPONDED.
  const a = insert('a', 'SENT');
  finish.run('COMPLETED', a);
  const b = insert('b', 'SENT');
  finish.run('NOT_RESPONDED', b);
  const c = insert('c', 'SENT');
  old.close();

  const db = openDatabase(dir);
  expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  const store = commandStore(db);
  const publish = (device: string) =>
    store.keepPublish({ digital_twin_instance_id: device, endpoint: 'rsp', content_type: 'application/json', content: Buffer.from('{}'), time_received: '2026-01-01T00:01:00.000Z' }, () => ({ cause: 'late' }));
  const notes = (id: number) => store.events(id).filter((e) => e.cause === 'late').length;
  // Carried over: nothing noted on a COMPLETED command, the NOT_RESPONDED one noted.
  publish('a');
  publish('b');
  expect([notes(a), notes(b)]).toEqual([0, 1]);
  // From now on: an answered command leaves no entry, an unanswered one does, and a completion after it clears it.
  const time = '2026-01-01T00:02:00.000Z';
  store.change(c, 'SENT', { delivery_status: 'EXPIRED' }, { time, cause: 'test' });
  publish('c');
  expect(notes(c)).toBe(1);
  const { id: _c, ...row } = store.get(c)!;
  const d = store.create({ ...row, delivery_status: 'SENT', time_finished: null, retry_token: null }, { time, cause: 'test' });
  store.change(d.id, 'SENT', { delivery_status: 'COMPLETED' }, { time, cause: 'test' });
  publish('c');
  expect([notes(c), notes(d.id)]).toEqual([1, 0]);
  expect(db.prepare("SELECT count(*) AS n FROM command_last_finished WHERE digital_twin_instance_id = 'c'").get()).toEqual({ n: 0 });
  db.close();
});
