import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { PURGE_TARGETS, purgeSelectSql } from '../../src/store/retention.js';

it('the purge that runs every minute reads only rows older than the cutoff, through the time index', () => {
  const db = openDatabase(':memory:');
  for (const target of PURGE_TARGETS) {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${purgeSelectSql(target)}`).all({ cutoff: '2026-01-01', domainId: 'd', batch: 10 }) as Array<{ detail: string }>)
      .map((r) => r.detail)
      .join(' | ');
    // A range on the time column, not every row of the domain's instances, and no sort.
    expect(plan).toContain(`SEARCH ${target.table} USING INDEX`);
    expect(plan).toContain(`(${target.timeColumn}<?)`);
    expect(plan).not.toContain('TEMP B-TREE');
  }
  db.close();
});
