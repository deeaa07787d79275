import Database from 'better-sqlite3';
import { percentiles, type Percentiles } from './stats.js';

/**
 * Read-only access to the emulator's database from the runner, for the database's own
 * timestamps and for the correctness checks. WAL lets it read while the emulator writes.
 */
export class EmulatorDb {
  readonly #db: Database.Database;

  constructor(file: string) {
    this.#db = new Database(file, { readonly: true, fileMustExist: true });
  }

  /** time_created → time_finished of the given commands, in ms (the emulator's clock). */
  latency(ids: readonly number[]): Percentiles {
    const rows = this.#db
      .prepare(
        `SELECT time_created, time_finished FROM commands
         WHERE id IN (SELECT value FROM json_each(?)) AND time_finished IS NOT NULL`,
      )
      .all(JSON.stringify(ids)) as Array<{ time_created: string; time_finished: string }>;
    return percentiles(rows.map((r) => Date.parse(r.time_finished) - Date.parse(r.time_created)));
  }

  /** Commands by (two-way?, delivery_status). */
  statusCounts(): Array<{ twoWay: boolean; status: string; count: number; withResponse: number }> {
    const rows = this.#db
      .prepare(
        `SELECT response_endpoint IS NOT NULL AS two_way, delivery_status AS status, count(*) AS count,
                count(response_data) AS with_response
         FROM commands GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all() as Array<{ two_way: number; status: string; count: number; with_response: number }>;
    return rows.map((r) => ({ twoWay: r.two_way === 1, status: r.status, count: r.count, withResponse: r.with_response }));
  }

  /** Commands not yet in a terminal state. */
  unfinished(): number {
    return this.#scalar("SELECT count(*) FROM commands WHERE delivery_status IN ('PENDING', 'SENT')");
  }

  /** Commands whose latest event does not name the state they are in. */
  eventMismatches(): number {
    return this.#scalar(
      `SELECT count(*) FROM commands c WHERE c.delivery_status IS NOT
         (SELECT to_status FROM command_events e WHERE e.command_id = c.id ORDER BY e.id DESC LIMIT 1)`,
    );
  }

  /** command_events rows, per kind of command. */
  eventCounts(): { twoWay: number; oneWay: number } {
    const rows = this.#db
      .prepare(
        `SELECT c.response_endpoint IS NOT NULL AS two_way, count(*) AS n
         FROM command_events e JOIN commands c ON c.id = e.command_id GROUP BY 1`,
      )
      .all() as Array<{ two_way: number; n: number }>;
    return {
      twoWay: rows.find((r) => r.two_way === 1)?.n ?? 0,
      oneWay: rows.find((r) => r.two_way === 0)?.n ?? 0,
    };
  }

  rawDataRows(): number {
    return this.#scalar('SELECT count(*) FROM raw_data');
  }

  historizedRows(): number {
    return this.#scalar('SELECT count(*) FROM historized_data');
  }

  rejectedRows(): number {
    return this.#scalar('SELECT count(*) FROM rejected_data');
  }

  /** historized_data rows observed in [from, to) (epoch ms). */
  historizedBetween(from: number, to: number): number {
    return this.#scalar(
      'SELECT count(*) FROM historized_data WHERE time_observed >= ? AND time_observed < ?',
      new Date(from).toISOString(),
      new Date(to).toISOString(),
    );
  }

  /** raw_data rows received in [from, to) (epoch ms; ISO strings compare in time order). */
  rawDataBetween(from: number, to: number): number {
    return this.#scalar(
      'SELECT count(*) FROM raw_data WHERE time_received >= ? AND time_received < ?',
      new Date(from).toISOString(),
      new Date(to).toISOString(),
    );
  }

  close(): void {
    this.#db.close();
  }

  #scalar(sql: string, ...params: unknown[]): number {
    return this.#db.prepare(sql).pluck().get(...params) as number;
  }
}
