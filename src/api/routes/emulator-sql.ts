import type { FastifyPluginAsync } from 'fastify';
import { invalid } from '../../errors.js';
import { durationMs } from '../../config.js';
import { readOnlyConnection, runOn, SqlError } from '../../sql/query.js';
import { runReadOnlySqlWithin } from '../../sql/runner.js';

const MAX_ROWS = 1000;

const sqlReply = {
  type: 'object',
  properties: {
    columns: { type: 'array', items: { type: 'string' } },
    rows: { type: 'array', items: { type: 'array', items: { type: ['string', 'number', 'null'] } } },
    truncated: { type: 'boolean' },
  },
} as const;

/** The SQL workshop: one read-only statement, answered as a table. */
export const emulatorSqlRoutes: FastifyPluginAsync = async (app) => {
  const { db, config } = app.emu;

  /**
   * A statement runs in a child process killed at --sql-timeout, so a runaway query cannot
   * stall the emulator. An in-memory database has no file a child could open; it is read
   * in-process, from a read-only copy.
   */
  async function run(sql: string) {
    if (config.dataDir !== ':memory:') return runReadOnlySqlWithin(config.dataDir, sql, durationMs(config.sqlTimeout), MAX_ROWS);
    const conn = readOnlyConnection(db, config.dataDir);
    try {
      return runOn(conn, sql, MAX_ROWS);
    } finally {
      conn.close();
    }
  }

  app.post<{ Body: { sql: string } }>(
    '/emulator/sql',
    {
      schema: {
        tags: ['emulator'],
        summary: `Run one read-only SQL statement (at most ${MAX_ROWS} rows are returned)`,
        body: { type: 'object', required: ['sql'], additionalProperties: false, properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000 } } },
        response: { 200: sqlReply },
      },
    },
    async (req) => {
      try {
        const result = await run(req.body.sql);
        return {
          columns: result.columns,
          rows: result.rows.map((row) => result.columns.map((c) => cell(row[c]))),
          truncated: result.truncated,
        };
      } catch (err) {
        if (err instanceof SqlError) throw invalid(err.message);
        throw err;
      }
    },
  );
};

function cell(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}
