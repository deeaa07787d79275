import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { cachedById } from '../../src/store/row-cache.js';

function setup() {
  const db = openDatabase(':memory:');
  db.exec("CREATE TABLE things (id TEXT PRIMARY KEY, name TEXT)");
  db.exec("INSERT INTO things VALUES ('a', 'first'), ('b', 'second')");
  let loads = 0;
  const byId = db.prepare('SELECT * FROM things WHERE id = ?');
  const get = cachedById(db, 'things', (id) => {
    loads++;
    return byId.get(id) as { id: string; name: string } | undefined;
  });
  return { db, get, loads: () => loads };
}

it('answers repeated reads from memory, and reads again after any write to the table', () => {
  const { db, get, loads } = setup();
  expect(get('a')?.name).toBe('first');
  expect(get('a')?.name).toBe('first');
  expect(loads()).toBe(1);

  // A write from anywhere on the connection (not through the cache's own store) empties it.
  db.prepare("UPDATE things SET name = 'renamed' WHERE id = 'a'").run();
  expect(get('a')?.name).toBe('renamed');
  db.prepare("DELETE FROM things WHERE id = 'a'").run();
  expect(get('a')).toBeUndefined();
  db.prepare("INSERT INTO things VALUES ('a', 'again')").run();
  expect(get('a')?.name).toBe('again');
  expect(loads()).toBe(4);
  db.close();
});

it('does not keep a row read inside a transaction that then rolls back', () => {
  const { db, get } = setup();
  expect(get('b')?.name).toBe('second');
  expect(() =>
    db.transaction(() => {
      db.prepare("UPDATE things SET name = 'uncommitted' WHERE id = 'b'").run();
      expect(get('b')?.name).toBe('uncommitted');
      throw new Error('roll back');
    })(),
  ).toThrow('roll back');
  expect(get('b')?.name).toBe('second');
  db.close();
});

it('hands out frozen rows, so a caller cannot change what the next one reads', () => {
  const { db, get } = setup();
  const row = get('a')!;
  expect(() => {
    (row as { name: string }).name = 'changed';
  }).toThrow(TypeError);
  expect(get('a')?.name).toBe('first');
  db.close();
});
