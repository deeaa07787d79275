/** The ORDS data API's `q` filters compiled to SQL (src/store/ords-query.ts). */
import { describe, expect, it } from 'vitest';
import { compileOrdsQuery, RAW_COMMAND_DATA } from '../../src/store/ords-query.js';
import { OciError } from '../../src/errors.js';

describe('ORDS q filters', () => {
  it('compiles $and, equality, date ranges and $orderby into parameters', () => {
    const q = compileOrdsQuery(
      RAW_COMMAND_DATA,
      JSON.stringify({
        $and: [{ delivery_status: 'COMPLETED' }, { time_created: { $gte: { $date: '2030-01-01T00:00:00Z' } } }],
        $orderby: { time_created: 'desc' },
      }),
    );
    expect(q.where).toBe('(delivery_status = ? AND time_created >= ?)');
    expect(q.params).toEqual(['COMPLETED', '2030-01-01T00:00:00.000Z']);
    expect(q.orderBy).toBe('time_created DESC, id ASC');
  });

  it('refuses unknown columns, operators and bad JSON with InvalidParameter', () => {
    for (const q of ['{', '{"nope":1}', '{"id":{"$regex":"x"}}', '[1]', '{"id; drop table x":1}']) {
      expect(() => compileOrdsQuery(RAW_COMMAND_DATA, q)).toThrow(OciError);
    }
  });
});
