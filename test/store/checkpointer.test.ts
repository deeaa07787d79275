import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createCheckpointer } from '../../src/store/checkpointer.js';
import { openDatabase, type Db } from '../../src/store/database.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function open(): Db {
  const dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
  dirs.push(dir);
  return openDatabase(dir);
}

const fill = (db: Db, from: number, n: number) => {
  const insert = db.prepare("INSERT INTO emulator_meta (key, value) VALUES (?, hex(randomblob(1000)))");
  for (let i = from; i < from + n; i++) insert.run(`k${i}`);
};

it('starts its worker only after enough commits, and then SQLite no longer checkpoints in the committing thread', async () => {
  const db = open();
  const reports: Array<{ log: number; checkpointed: number }> = [];
  const cp = createCheckpointer(db, { startAfterCommits: 3, intervalMs: 5, onReport: (r) => reports.push(r) });
  cp.noteCommit();
  cp.noteCommit();
  expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  cp.noteCommit();
  expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

  // Rows written after the start are copied into the database file by the worker.
  fill(db, 0, 50);
  const copied = await new Promise<{ log: number; checkpointed: number }>((resolve) => {
    const seen = () => {
      const r = reports.find((x) => x.log > 0 && x.checkpointed === x.log);
      if (r) resolve(r);
      else setImmediate(seen);
    };
    seen();
  });
  expect(copied.log).toBeGreaterThan(50);

  await cp.close();
  // Without the worker, SQLite's own checkpoint is back; closing the database folds the WAL in.
  expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  const file = db.name;
  db.close();
  expect(existsSync(`${file}-wal`)).toBe(false);
  const again = openDatabase(join(file, '..'));
  expect((again.prepare('SELECT count(*) AS n FROM emulator_meta WHERE key LIKE ?').get('k%') as { n: number }).n).toBe(50);
  again.close();
});

it('past restartFrames the event loop checkpoints once itself, so the next write starts the WAL over', async () => {
  const db = open();
  let next = 200;
  const logs: number[] = [];
  const restarted = new Promise<void>((resolve) => {
    const cp = createCheckpointer(db, {
      startAfterCommits: 1,
      intervalMs: 5,
      restartFrames: 20,
      onReport: ({ log }) => {
        logs.push(log);
        // The WAL held 200 rows' pages; once it is short again, a write started it over.
        if (logs.some((l) => l > 20) && log > 0 && log < 10) void cp.close().then(resolve);
        else fill(db, next++, 1);
      },
    });
    cp.noteCommit();
    fill(db, 0, 200);
  });
  await restarted;
  expect(Math.max(...logs)).toBeGreaterThan(20);
  expect(logs.at(-1)).toBeLessThan(10);
  db.close();
});

it('an in-memory database has no WAL and never starts a worker', async () => {
  const db = openDatabase(':memory:');
  const cp = createCheckpointer(db, { startAfterCommits: 1 });
  cp.noteCommit();
  expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
  await cp.close();
  db.close();
});
