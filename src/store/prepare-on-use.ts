import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import { methodView } from './method-view.js';

/** Every statement made through `prepareOnUse(db)` that has not compiled yet, per database. */
const deferred = new WeakMap<Db, Set<DeferredStatement>>();
const views = new WeakMap<Db, Db>();

/**
 * A statement that compiles its SQL at its first use. Once compiled, its running methods are
 * the compiled statement's own (bound), so a store's hot path calls better-sqlite3 directly;
 * methods that switch a mode (pluck, raw, ...) compile it and return the compiled statement,
 * as better-sqlite3's return theirs. Arguments pass on as given (better-sqlite3 tells a
 * missing one from `undefined`).
 */
class DeferredStatement {
  #statement: Database.Statement | undefined;
  run: Database.Statement['run'] = (...params) => this.compiled.run(...params);
  get: Database.Statement['get'] = (...params) => this.compiled.get(...params);
  all: Database.Statement['all'] = (...params) => this.compiled.all(...params);
  iterate: Database.Statement['iterate'] = (...params) => this.compiled.iterate(...params);

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
      const statement = this.database.prepare(this.source);
      this.#statement = statement;
      this.run = statement.run.bind(statement);
      this.get = statement.get.bind(statement);
      this.all = statement.all.bind(statement);
      this.iterate = statement.iterate.bind(statement);
      deferred.get(this.database)?.delete(this);
    }
    return this.#statement;
  }

  columns() { return this.compiled.columns(); }
  get reader() { return this.compiled.reader; }
  get readonly() { return this.compiled.readonly; }
  get busy() { return this.compiled.busy; }
  pluck(...toggle: [boolean?]) { return this.compiled.pluck(...toggle); }
  expand(...toggle: [boolean?]) { return this.compiled.expand(...toggle); }
  raw(...toggle: [boolean?]) { return this.compiled.raw(...toggle); }
  safeIntegers(...toggle: [boolean?]) { return this.compiled.safeIntegers(...toggle); }
  bind(...params: unknown[]) { return this.compiled.bind(...params); }
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
    // Made once, methods bound to `db`: the stores call `transaction` and read `inTransaction`
    // on hot paths, where a Proxy's trap and a new bound function per read showed in profiles.
    view = methodView(db, (key) => (key === 'prepare' ? (source: string) => new DeferredStatement(db, source) as unknown as Database.Statement : undefined));
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
