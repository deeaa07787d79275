import type { Db } from './database.js';

/** The emulator's own settings kept with the data (emulator_meta), such as the key its OAuth tokens are signed with. */
export function metaStore(db: Db) {
  const get = db.prepare('SELECT value FROM emulator_meta WHERE key = ?');
  const insert = db.prepare('INSERT INTO emulator_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING');
  return {
    /** The value kept under `key`, made by `make` and kept the first time it is asked for. */
    valueOf(key: string, make: () => string): string {
      const row = get.get(key) as { value: string } | undefined;
      if (row) return row.value;
      insert.run(key, make());
      return (get.get(key) as { value: string }).value;
    },
  };
}
