import { expect, it } from 'vitest';
import { afterCommit, runBatch } from '../../src/store/after-commit.js';
import { openDatabase } from '../../src/store/database.js';

it('effects queued in a batch run after it commits, in order; a rolled-back batch drops them', () => {
  const db = openDatabase(':memory:');
  const seen: string[] = [];
  afterCommit(db, () => seen.push('outside a batch: at once'));
  runBatch(db, () => {
    db.prepare("INSERT INTO emulator_meta (key, value) VALUES ('a', '1')").run();
    afterCommit(db, () => seen.push(`first, committed rows: ${(db.prepare('SELECT count(*) AS n FROM emulator_meta').get() as { n: number }).n}`));
    afterCommit(db, () => seen.push('second'));
    expect(seen).toEqual(['outside a batch: at once']);
  });
  expect(() =>
    runBatch(db, () => {
      afterCommit(db, () => seen.push('never'));
      throw new Error('rollback');
    }),
  ).toThrow('rollback');
  expect(seen).toEqual(['outside a batch: at once', 'first, committed rows: 1', 'second']);
  db.close();
});
