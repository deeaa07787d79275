/**
 * The sql command against a real emulator database file: reads work, nothing can write,
 * ATTACH, setting pragmas and extension loading are refused, and a runaway statement is
 * stopped at the time limit while the emulator keeps serving.
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReadOnlySql } from '../../src/sql/query.js';
import { runReadOnlySqlWithin } from '../../src/sql/runner.js';
import { SEED_COMMAND, startTestEmulator, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
let instanceId: string;
beforeAll(async () => {
  t = await startTestEmulator();
  instanceId = (await t.createDevice()).instanceId;
  await t.invoke(instanceId, SEED_COMMAND);
});
afterAll(async () => {
  await t.close();
});

const run = (sql: string, timeoutMs = 10_000) => runReadOnlySqlWithin(t.dataDir, sql, timeoutMs);
const snapshot = () => ({
  commands: t.emu.db.prepare('SELECT count(*) AS n FROM commands').get(),
  version: t.emu.db.pragma('user_version', { simple: true }),
  journal: t.emu.db.pragma('journal_mode', { simple: true }),
  size: statSync(t.emu.databaseFile).size,
});

describe('reads', () => {
  it('SELECT, WITH and reading pragmas return rows', async () => {
    const rows = await run('SELECT id, delivery_status FROM raw_command_data');
    expect(rows.rows).toEqual([{ id: 1, delivery_status: 'REFUSED' }]);
    expect((await run('WITH x AS (SELECT 41 AS n) SELECT n + 1 AS n FROM x')).rows).toEqual([{ n: 42 }]);
    expect((await run('PRAGMA table_info(commands)')).rows.length).toBeGreaterThan(10);
    expect((await run('PRAGMA journal_mode')).rows).toEqual([{ journal_mode: 'wal' }]);
    expect((await run("SELECT name FROM pragma_table_info('raw_data') ORDER BY cid LIMIT 1")).rows).toEqual([{ name: 'id' }]);
  });
});

describe('refusals', () => {
  const refused: Array<[string, RegExp]> = [
    ["INSERT INTO raw_data (digital_twin_instance_id, endpoint, content_type, time_received) VALUES ('x', 'e', 't', 'now')", /read-only/],
    ["UPDATE commands SET delivery_status = 'COMPLETED'", /read-only/],
    ['DELETE FROM commands', /read-only/],
    ['DROP TABLE raw_data', /read-only/],
    ['CREATE TABLE evil (x)', /read-only/],
    ["ATTACH DATABASE '/etc/passwd' AS p", /ATTACH is refused/],
    ["/* hidden */ attach 'other.db' as o", /ATTACH is refused/],
    ['DETACH DATABASE main', /DETACH is refused/],
    ['PRAGMA journal_mode = DELETE', /pragmas that change settings/],
    ['PRAGMA journal_mode(DELETE)', /pragmas that change settings/],
    ['PRAGMA query_only = 0', /pragmas that change settings/],
    ['PRAGMA main.user_version = 7', /pragmas that change settings/],
    ['PRAGMA writable_schema=ON', /pragmas that change settings/],
    ['PRAGMA optimize', /not one of the reporting pragmas/],
    ['PRAGMA wal_checkpoint', /not one of the reporting pragmas/],
    ['PRAGMA locking_mode = EXCLUSIVE', /pragmas that change settings/],
    ["SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0')", /load_extension\(\) is refused/],
    [`VACUUM INTO '${join('/tmp', `oci-iot-vacuum-${process.pid}.db`)}'`, /read-only/],
    ['SELECT 1; DELETE FROM commands', /more than one statement/],
  ];

  // The rules live in runReadOnlySql, which the sql command's child process runs; called
  // here directly on the same database file, without a process per statement.
  it.each(refused)('%s', (sql, message) => {
    const before = snapshot();
    expect(() => runReadOnlySql(t.dataDir, sql)).toThrow(message);
    expect(snapshot()).toEqual(before);
  });

  it('a refusal crosses the process boundary as the same message', async () => {
    await expect(run("ATTACH DATABASE '/etc/passwd' AS p")).rejects.toThrow(/ATTACH is refused/);
  });

  it('VACUUM INTO wrote no file', () => {
    expect(existsSync(join('/tmp', `oci-iot-vacuum-${process.pid}.db`))).toBe(false);
  });
});

describe('time limit', () => {
  it('a statement that never ends is stopped at the limit; the emulator serves throughout', async () => {
    const forever = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
    const stopped = run(forever, 500);
    const device = await t.createDevice();
    const conn = await t.connect(device, { subscribe: [['cmd/#', 1]] });
    const id = await t.invoke(device.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/x', requestData: 'hi' });
    expect((await conn.next('cmd/x')).payload.toString()).toBe('hi');
    await t.waitFor(id, 'COMPLETED');
    await expect(stopped).rejects.toThrow(/ran longer than the 500 ms limit/);
    // The next statement runs normally.
    expect((await run('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('oci-iot-emulator sql reports the limit and exits non-zero', async () => {
    const forever = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';
    const cli = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sql', forever, '--sql-timeout', 'PT0.5S', '--data-dir', t.dataDir]);
    await expect(cli).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/ran longer than the 500 ms limit/) });
    const ok = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sql', 'SELECT count(*) AS n FROM raw_command_data', '--json', '--data-dir', t.dataDir]);
    expect(JSON.parse(ok.stdout)).toEqual([{ n: expect.any(Number) }]);
  });
});
