// Runs aedes-persistence's own conformance suite, unchanged, against the SQLite persistence,
// and again against it as the broker hands it to Aedes: wrapped by notingStorageFaults
// (store/storage-health.ts), which must read and behave as the persistence itself does.
// Every test gets a fresh database file.
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import { createSqlitePersistence, type SqlitePersistence } from '../../../src/store/mqtt-persistence.js';
import { notingStorageFaults } from '../../../src/store/storage-health.js';
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

// No storage fault happens here: what is checked is that the wrapper changes nothing else.
const health = { failed: () => null };
describe('wrapped by notingStorageFaults, as Aedes gets it from the broker', () => {
  abstractPersistence({
    test,
    persistence: async () => notingStorageFaults(createSqlitePersistence(databases.open(databases.newPath())), 'MQTT session', health, ['delWill']),
    testAsync: true,
  });
});
