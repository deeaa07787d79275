import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { createWriteBatch } from '../../src/store/write-batch.js';

const count = (db: ReturnType<typeof openDatabase>) => (db.prepare('SELECT count(*) AS n FROM emulator_meta').get() as { n: number }).n;
const insert = (db: ReturnType<typeof openDatabase>, key: string) => db.prepare('INSERT INTO emulator_meta (key, value) VALUES (?, ?)').run(key, '1');

it('applies one turn of writes in one transaction; effects run after the commit, in order, then each write is done', async () => {
  const db = openDatabase(':memory:');
  const batch = createWriteBatch(db);
  const seen: string[] = [];
  batch.afterCommit(() => seen.push('outside a batch: at once'));
  const settled = Promise.all(
    ['a', 'b', 'c'].map(
      (key) =>
        new Promise<Error | null>((resolve) =>
          batch.add(
            () => {
              // A write that fails undoes only itself (its own transaction nests as a savepoint).
              db.transaction(() => {
                insert(db, key);
                if (key === 'b') throw new Error('b fails');
              })();
              expect(db.inTransaction).toBe(true);
              batch.afterCommit(() => seen.push(`after ${key}: ${count(db)} rows committed`));
            },
            (err) => {
              seen.push(`done ${key}${err ? `: ${err.message}` : ''}`);
              resolve(err);
            },
          ),
        ),
    ),
  );
  expect(seen).toEqual(['outside a batch: at once']);
  await settled;
  expect(seen).toEqual(['outside a batch: at once', 'after a: 2 rows committed', 'after c: 2 rows committed', 'done a', 'done b: b fails', 'done c']);
  db.close();
});

it('a batch whose commit fails drops its effects and fails every write in it', async () => {
  const db = openDatabase(':memory:');
  const batch = createWriteBatch(db);
  const seen: string[] = [];
  const errors = await Promise.all(
    [0, 1].map(
      (i) =>
        new Promise<Error | null>((resolve) =>
          batch.add(() => {
            insert(db, `k${i}`);
            batch.afterCommit(() => seen.push('never'));
            if (i === 1) {
              // A deferred foreign key violation makes the COMMIT itself fail.
              db.pragma('defer_foreign_keys = ON');
              db.prepare("INSERT INTO command_events (command_id, time, cause) VALUES (999, 't', 'c')").run();
            }
          }, resolve),
        ),
    ),
  );
  expect(errors.map((e) => e?.message)).toEqual(['FOREIGN KEY constraint failed', 'FOREIGN KEY constraint failed']);
  expect(seen).toEqual([]);
  expect(count(db)).toBe(0);
  db.close();
});
