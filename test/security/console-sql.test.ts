/** The console's SQL workshop has the sql command's limits: read-only, and a statement time limit. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator({ sqlTimeout: 'PT1S' });
});
afterAll(async () => {
  await t.close();
});

it('stops a runaway statement at the time limit, and the emulator keeps serving', async () => {
  const runaway = await t.rest('POST', '/emulator/sql', {
    sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c',
  });
  expect(runaway).toMatchObject({ status: 400, body: { code: 'InvalidParameter', message: expect.stringMatching(/longer than the 1000 ms limit/) } });
  expect((await t.rest('GET', '/emulator/health')).body).toEqual({ status: 'ok' });
});

it('refuses writes and ATTACH, and answers reads as a table', async () => {
  expect((await t.rest('POST', '/emulator/sql', { sql: 'DELETE FROM commands' })).body.message).toMatch(/read-only/);
  expect((await t.rest('POST', '/emulator/sql', { sql: "ATTACH DATABASE '/etc/hosts' AS h" })).body.message).toMatch(/ATTACH is refused/);
  const ok = await t.rest('POST', '/emulator/sql', { sql: "SELECT 'x' AS a, 1 AS b" });
  expect(ok.body).toEqual({ columns: ['a', 'b'], rows: [['x', 1]], truncated: false });
});
