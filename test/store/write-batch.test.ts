import { expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { createWriteBatch } from '../../src/store/write-batch.js';

const count = (db: ReturnType<typeof openDatabase>) => (db.prepare('SELECT count(*) AS n FROM emulator_meta').get() as { n: number }).n;
const insert = (db: ReturnType<typeof openDatabase>, key: string) => db.prepare('INSERT INTO emulator_meta (key, value) VALUES (?, ?)').run(key, '1');

/** A test on fake timers (the batch's pacing reads performance.now and sets timers), restored after. */
function onFakeTimers(name: string, body: () => Promise<void>): void {
  it(name, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
    try {
      await body();
    } finally {
      vi.useRealTimers();
    }
  });
}

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

it('run resolves with what the write returned once committed; a write that fails undoes all of itself and drops what it deferred', async () => {
  const db = openDatabase(':memory:');
  const batch = createWriteBatch(db);
  const seen: string[] = [];
  const ok = batch.run(() => {
    insert(db, 'ok');
    batch.afterCommit(() => seen.push(`ok effect: ${count(db)} rows`));
    return 'ok result';
  });
  const failed = batch.run(() => {
    // Outside any transaction of its own: the batch's savepoint for the write undoes it.
    insert(db, 'half');
    batch.afterCommit(() => seen.push('never'));
    throw new Error('fails after writing');
  });
  await expect(ok).resolves.toBe('ok result');
  await expect(failed).rejects.toThrow('fails after writing');
  expect(seen).toEqual(['ok effect: 1 rows']);
  expect(count(db)).toBe(1);
  db.close();
});

onFakeTimers('paces commits: a device write soon after a commit waits out the interval and shares the next one; after a quiet spell, or for an invoke, it commits at the next turn', async () => {
  const db = openDatabase(':memory:');
  let commits = 0;
  const batch = createWriteBatch(db, { commitIntervalMs: 2, onCommit: () => commits++ });
  const done: string[] = [];
  const write = (key: string) => batch.add(() => insert(db, key), () => done.push(key));

  write('a');
  await vi.advanceTimersByTimeAsync(0);
  expect({ commits, done }).toEqual({ commits: 1, done: ['a'] });

  // Within 2 ms of that commit: b and c wait for the same next one.
  write('b');
  await vi.advanceTimersByTimeAsync(1);
  write('c');
  expect({ commits, done }).toEqual({ commits: 1, done: ['a'] });
  await vi.advanceTimersByTimeAsync(1);
  expect({ commits, done, rows: count(db) }).toEqual({ commits: 2, done: ['a', 'b', 'c'], rows: 3 });

  // Quiet for longer than the interval: d commits in its own turn, without waiting.
  await vi.advanceTimersByTimeAsync(10);
  write('d');
  await vi.advanceTimersByTimeAsync(0);
  expect({ commits, done }).toEqual({ commits: 3, done: ['a', 'b', 'c', 'd'] });

  // A next-turn write (an invoke) does not wait out the interval, and takes the paced ones with it.
  write('x');
  batch.add(() => insert(db, 'invoke'), () => done.push('invoke'), 'next-turn');
  await vi.advanceTimersByTimeAsync(0);
  expect({ commits, done: done.slice(-2) }).toEqual({ commits: 4, done: ['x', 'invoke'] });

  // drain (closing) applies what waits for its turn now.
  write('e');
  batch.drain();
  expect({ commits, done: done.slice(-1), rows: count(db) }).toEqual({ commits: 5, done: ['e'], rows: 7 });
  db.close();
});

onFakeTimers('does not pace while paceWhen says waiting would not pay (one caller, one command at a time)', async () => {
  const db = openDatabase(':memory:');
  let commits = 0;
  let concurrent = false;
  const batch = createWriteBatch(db, { commitIntervalMs: 2, onCommit: () => commits++, paceWhen: () => concurrent });
  batch.add(() => insert(db, 'a'), () => {});
  await vi.advanceTimersByTimeAsync(0);
  // Right after a commit, but nothing else under way: the next turn, not 2 ms later.
  batch.add(() => insert(db, 'b'), () => {});
  await vi.advanceTimersByTimeAsync(0);
  expect(commits).toBe(2);
  concurrent = true;
  batch.add(() => insert(db, 'c'), () => {});
  await vi.advanceTimersByTimeAsync(0);
  expect(commits).toBe(2);
  await vi.advanceTimersByTimeAsync(2);
  expect({ commits, rows: count(db) }).toEqual({ commits: 3, rows: 3 });
  db.close();
});

it('work at the end of a batch that throws (a stack overflow too) costs only its own part; every write and every other part commits', async () => {
  const db = openDatabase(':memory:');
  const batch = createWriteBatch(db);
  const rejected: string[] = [];
  const overflow = (n: number): number => overflow(n + 1) + 1;
  const parts = ['m1', 'poison', 'm3'];
  const results = await Promise.all(
    ['w1', 'w2', 'w3'].map((key, i) =>
      batch.run(() => {
        insert(db, key);
        // One ending for the whole batch, as the adapter pipeline registers it for the first message.
        if (i === 0) {
          const mapOne = (part: string) => {
            if (part === 'poison') overflow(0);
            insert(db, `mapped-${part}`);
          };
          batch.atEnd(
            () => parts.forEach(mapOne),
            () => parts.map((part) => ({ run: () => mapOne(part), failed: (err) => rejected.push(`${part}: ${(err as Error).name}`) })),
          );
        }
        return key;
      }),
    ),
  );
  expect(results).toEqual(['w1', 'w2', 'w3']);
  expect(rejected).toEqual(['poison: RangeError']);
  const keys = (db.prepare("SELECT key FROM emulator_meta WHERE key LIKE 'w%' OR key LIKE 'mapped-%' ORDER BY key").all() as Array<{ key: string }>).map((r) => r.key);
  expect(keys).toEqual(['mapped-m1', 'mapped-m3', 'w1', 'w2', 'w3']);
  db.close();
});

it('a write that makes SQLite roll back the whole transaction (a full disk) fails every write of the batch, none half-committed', async () => {
  const db = openDatabase(':memory:');
  const batch = createWriteBatch(db);
  const outcomes = await Promise.all(
    ['a', 'b', 'c'].map((key) =>
      batch.run(() => {
        insert(db, key);
        // What SQLITE_FULL may do: the transaction is gone when the error reaches the caller.
        if (key === 'b') {
          db.exec('ROLLBACK');
          throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        }
      }).then(() => 'stored', (err: Error) => err.message),
    ),
  );
  expect(outcomes).toEqual(['database or disk is full', 'database or disk is full', 'database or disk is full']);
  expect(count(db)).toBe((db.prepare("SELECT count(*) AS n FROM emulator_meta WHERE key NOT IN ('a','b','c')").get() as { n: number }).n);
  db.close();
});
