// Runs aedes-persistence's own conformance suite, unchanged, against the
// SQLite persistence. Every test gets a fresh database file.
import { createRequire } from 'node:module';
import { after, test } from 'node:test';
import { createSqlitePersistence, type SqlitePersistence } from '../../../src/store/mqtt-persistence.js';
import { TempDatabases } from './helpers.js';

interface AbstractSuiteOptions {
  test: typeof test;
  persistence: () => Promise<SqlitePersistence>;
  // The instance is async (setup(broker) is awaited) rather than callback-based.
  testAsync: boolean;
}

// abstract.js is CommonJS without type declarations.
const require = createRequire(import.meta.url);
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: AbstractSuiteOptions) => void;

const databases = new TempDatabases();
after(() => databases.cleanup());

abstractPersistence({
  test,
  persistence: async () => createSqlitePersistence(databases.open(databases.newPath())),
  testAsync: true,
});
