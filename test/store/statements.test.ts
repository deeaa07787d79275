import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { createStore } from '../../src/store/index.js';
import { prepareDeferred, prepareOnUse } from '../../src/store/prepare-on-use.js';

it('every statement of every store compiles against the schema (they compile at first use, so a start would not tell)', () => {
  const db = openDatabase(':memory:');
  const store = createStore(db);
  // Reading each group makes it, and so declares its statements.
  for (const group of Object.keys(store) as Array<keyof typeof store>) void store[group];
  expect(prepareDeferred(db)).toBeGreaterThan(100);
  expect(prepareDeferred(db)).toBe(0);
  db.close();
});

it('a statement compiles at its first run, and a broken one fails there with SQLite\'s message', () => {
  const db = openDatabase(':memory:');
  const view = prepareOnUse(db);
  const broken = view.prepare('SELECT nope FROM nowhere');
  expect(() => broken.get()).toThrow(/no such table: nowhere/);
  const insert = view.prepare('INSERT INTO emulator_meta (key, value) VALUES (?, ?)');
  const value = view.prepare('SELECT value FROM emulator_meta WHERE key = ?').pluck();
  expect(insert.run('k', 'v').changes).toBe(1);
  expect(value.get('k')).toBe('v');
  expect(view.transaction(() => insert.run('k2', 'v2').changes)()).toBe(1);
  // The connection's getters stay live through the view.
  expect(view.transaction(() => view.inTransaction)()).toBe(true);
  expect(view.inTransaction).toBe(false);
  expect(view.open).toBe(true);
  db.close();
});

it('one view per connection, so what stores keep per connection (the row cache and its SQL function) stays one', () => {
  const db = openDatabase(':memory:');
  expect(prepareOnUse(db)).toBe(prepareOnUse(db));
  db.close();
});
