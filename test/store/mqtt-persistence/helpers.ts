import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { migrate } from '../../../src/store/database.js';

/**
 * A temp directory for database files, removed by cleanup(). Files rather than
 * :memory: so the tests run against a real WAL database like the emulator's,
 * with the emulator's migrations applied: they, not the persistence, create the tables.
 */
export class TempDatabases {
  readonly dir = mkdtempSync(join(tmpdir(), 'mqtt-persistence-'));
  readonly #open = new Set<Database.Database>();
  #next = 0;

  /** Path for a new database file. */
  newPath(): string {
    return join(this.dir, `db-${this.#next++}.sqlite`);
  }

  open(path: string): Database.Database {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    migrate(db);
    this.#open.add(db);
    return db;
  }

  close(db: Database.Database): void {
    db.close();
    this.#open.delete(db);
  }

  cleanup(): void {
    for (const db of this.#open) db.close();
    this.#open.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function streamToArray<T>(stream: Readable): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item as T);
  return items;
}
