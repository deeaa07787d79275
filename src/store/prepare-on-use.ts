import type Database from 'better-sqlite3';
import type { Db } from './database.js';

/** Every statement made through `prepareOnUse(db)` that has not compiled yet, per database. */
const deferred = new WeakMap<Db, Set<DeferredStatement>>();
const views = new WeakMap<Db, Db>();

/**
 * A statement that compiles its SQL at its first use. Methods that switch a mode (pluck,
 * raw, ...) compile it too, and return this statement as better-sqlite3's return theirs;
 * arguments pass on as given (better-sqlite3 tells a missing one from `undefined`).
 */
class DeferredStatement {
  #statement: Database.Statement | undefined;

  constructor(
    readonly database: Db,
    readonly source: string,
  ) {
    const waiting = deferred.get(database);
    if (waiting) waiting.add(this);
    else deferred.set(database, new Set([this]));
  }

  get compiled(): Database.Statement {
    if (!this.#statement) {
      this.#statement = this.database.prepare(this.source);
      deferred.get(this.database)?.delete(this);
    }
    return this.#statement;
  }

  run(...params: unknown[]) { return this.compiled.run(...params); }
  get(...params: unknown[]) { return this.compiled.get(...params); }
  all(...params: unknown[]) { return this.compiled.all(...params); }
  iterate(...params: unknown[]) { return this.compiled.iterate(...params); }
  columns() { return this.compiled.columns(); }
  get reader() { return this.compiled.reader; }
  get readonly() { return this.compiled.readonly; }
  get busy() { return this.compiled.busy; }
  pluck(...toggle: [boolean?]) { this.compiled.pluck(...toggle); return this; }
  expand(...toggle: [boolean?]) { this.compiled.expand(...toggle); return this; }
  raw(...toggle: [boolean?]) { this.compiled.raw(...toggle); return this; }
  safeIntegers(...toggle: [boolean?]) { this.compiled.safeIntegers(...toggle); return this; }
  bind(...params: unknown[]) { this.compiled.bind(...params); return this; }
}

/**
 * `db` as the store factories see it: the same connection, except that `prepare` returns a
 * statement that compiles at its first use. Each store prepares all of its statements when
 * it is made; a start of the emulator made nine stores and compiled 165 statements to run
 * 24 of them, about 4 ms of every start in a test suite. A statement whose SQL does not
 * compile throws at its first run; `prepareDeferred` compiles them all, for the test.
 */
export function prepareOnUse(db: Db): Db {
  // One view per connection: what store modules keep per connection (row-cache.ts) stays one.
  let view = views.get(db);
  if (!view) {
    view = new Proxy(db, {
      get(target, property) {
        if (property === 'prepare') return (source: string) => new DeferredStatement(target, source);
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    views.set(db, view);
  }
  return view;
}

/** Compiles every statement still waiting for its first use on `db`; returns how many. */
export function prepareDeferred(db: Db): number {
  const waiting = [...(deferred.get(db) ?? [])];
  for (const statement of waiting) void statement.compiled;
  return waiting.length;
}
