/**
 * The classification of SQLite errors and what the emulator does with a storage fault:
 * one log line when it starts and one when it ends, retries on the emulator's clock, and
 * timers that back off instead of throwing.
 */
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { manualClock } from '../../src/clock/clock.js';
import { storageFault } from '../../src/store/storage-errors.js';
import { createStorageHealth, notingStorageFaults } from '../../src/store/storage-health.js';

const sqliteError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

it('classifies SQLite errors about the storage, and leaves a statement\'s own mistakes alone', () => {
  expect(storageFault(sqliteError('SQLITE_FULL'))).toMatchObject({ kind: 'full', code: 'SQLITE_FULL' });
  expect(storageFault(sqliteError('SQLITE_READONLY_DBMOVED'))).toMatchObject({ kind: 'read-only' });
  expect(storageFault(sqliteError('SQLITE_IOERR_WRITE'))).toMatchObject({ kind: 'io' });
  expect(storageFault(sqliteError('SQLITE_BUSY_SNAPSHOT'))).toMatchObject({ kind: 'busy' });
  expect(storageFault(sqliteError('SQLITE_CORRUPT'))).toMatchObject({ kind: 'corrupt' });
  expect(storageFault(sqliteError('SQLITE_NOTADB'))).toMatchObject({ kind: 'corrupt' });
  expect(storageFault(sqliteError('SQLITE_CONSTRAINT_UNIQUE'))).toBeNull();
  expect(storageFault(sqliteError('SQLITE_ERROR'))).toBeNull();
  expect(storageFault(new RangeError('Maximum call stack size exceeded'))).toBeNull();
  // What better-sqlite3 really throws.
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (x)');
  db.pragma('query_only = ON');
  let thrown: unknown;
  try {
    db.prepare('INSERT INTO t VALUES (1)').run();
  } catch (err) {
    thrown = err;
  }
  expect(storageFault(thrown)).toMatchObject({ kind: 'read-only', code: 'SQLITE_READONLY' });
  db.close();
});

function fixture() {
  const clock = manualClock(0);
  const lines: Array<{ level: string; msg: string }> = [];
  const health = createStorageHealth({
    dataDir: '/data',
    clock,
    log: { error: (_f, msg) => lines.push({ level: 'error', msg }), warn: (_f, msg) => lines.push({ level: 'warn', msg }) },
  });
  return { clock, lines, health };
}

it('logs a fault once however often it is met, and once when writes succeed again', () => {
  const { lines, health } = fixture();
  expect(health.failed(new Error('not SQLite'), 'x')).toBeNull();
  expect(health.status()).toEqual({ ok: true });
  for (let i = 0; i < 5; i++) health.failed(sqliteError('SQLITE_FULL', 'database or disk is full'), 'invoke');
  expect(health.status()).toMatchObject({ ok: false, kind: 'full', refused: 5, where: 'invoke' });
  health.succeeded();
  health.succeeded();
  expect(lines.map((l) => l.level)).toEqual(['error', 'warn']);
  expect(lines[0].msg).toContain('/data');
  expect(lines[1].msg).toContain('5 refused');
});

it('retries a write on the clock, with a growing wait, until it succeeds; a newer write of the same key replaces the older', () => {
  const { clock, health } = fixture();
  let full = true;
  const written: string[] = [];
  const write = (what: string) => () => {
    if (full) throw sqliteError('SQLITE_FULL');
    written.push(what);
  };
  health.retry('session row', write('online'), 'k');
  health.retry('session row', write('offline'), 'k');
  clock.advance(1_000);
  expect(health.retrying('k')).toBe(true);
  full = false;
  clock.advance(1_000); // the second wait is 2 s
  expect(written).toEqual([]);
  clock.advance(1_000);
  expect(written).toEqual(['offline']);
  expect(health.retrying('k')).toBe(false);
});

it('a guarded timer skips its due work while backing off, then does it; the process never sees the error', () => {
  const { clock, health } = fixture();
  let full = true;
  const done: number[] = [];
  const hooks = health.guardTimer('deadlines', {
    nextDeadline: () => 500,
    fireDue(now: number) {
      if (full) throw sqliteError('SQLITE_IOERR_WRITE');
      done.push(now);
    },
  });
  clock.advance(1_000);
  expect(() => hooks.fireDue(clock.now())).not.toThrow();
  // Not before a second from now, though its deadline (500) has passed.
  expect(hooks.nextDeadline()).toBe(2_000);
  full = false;
  hooks.fireDue(1_500);
  expect(done).toEqual([]);
  clock.advance(1_000);
  hooks.fireDue(clock.now());
  expect(done).toEqual([2_000]);
  expect(hooks.nextDeadline()).toBe(500);
  expect(health.status()).toEqual({ ok: true });
});

it('a wrapped persistence notes each storage rejection, forgives the tolerated ones, and otherwise reads as itself', async () => {
  const { health } = fixture();
  class Persistence {
    #fail: Error | null = null;
    #broker = 'none';
    get broker() { return this.#broker; }
    failWith(err: Error | null) { this.#fail = err; }
    async setup(broker: string) { this.#broker = broker; }
    async getWill() { if (this.#fail) throw this.#fail; return 'will'; }
    async delWill() { if (this.#fail) throw this.#fail; return 'will'; }
  }
  const target = new Persistence();
  const wrapped = notingStorageFaults(target, 'MQTT session', health, ['delWill']);
  expect(wrapped).toBeInstanceOf(Persistence);
  expect(wrapped.setup.constructor.name).toBe('AsyncFunction');
  await wrapped.setup('b1');
  expect(wrapped.broker).toBe('b1');
  expect(await wrapped.getWill()).toBe('will');

  wrapped.failWith(sqliteError('SQLITE_READONLY', 'attempt to write a readonly database'));
  await expect(wrapped.getWill()).rejects.toThrow(/readonly/);
  expect(await wrapped.delWill()).toBeUndefined();
  expect(health.status()).toMatchObject({ ok: false, kind: 'read-only', where: 'MQTT session', refused: 2 });

  // Not a storage fault: not noted, and not forgiven either.
  wrapped.failWith(new TypeError('a bug'));
  await expect(wrapped.delWill()).rejects.toThrow(/a bug/);
  expect(health.status()).toMatchObject({ refused: 2 });
});
