import { epochMicrosOf, isoMicros } from '../time-format.js';
import { invalid } from '../errors.js';

/** A table as the ORDS data API shows it. */
export interface OrdsTable {
  name: string;
  columns: readonly string[];
  /** Columns left out of list rows (the payloads); a single-row GET shows them. */
  payloadColumns: readonly string[];
  timeColumns: readonly string[];
  /** Time columns kept with microseconds (`…05.226854Z`, as OCI keeps time_observed); the others have milliseconds. */
  microTimeColumns?: readonly string[];
  /** The order of a list without `$orderby`; tables without an id (snapshot_data) give their own. */
  defaultOrder?: string;
  /** JSON columns, shown as JSON values rather than text. */
  jsonColumns?: readonly string[];
  /** Whether rows have an id to GET one by (snapshot_data has none). */
  noId?: boolean;
}

export const RAW_COMMAND_DATA: OrdsTable = {
  name: 'raw_command_data',
  columns: [
    'id', 'digital_twin_instance_id', 'request_endpoint', 'request_duration', 'request_data_format', 'request_data',
    'request_content_type', 'response_endpoint', 'response_duration', 'response_data_format', 'response_data',
    'response_content_type', 'delivery_status', 'created_by', 'time_created', 'time_updated', 'time_finished',
  ],
  payloadColumns: ['request_data', 'response_data'],
  timeColumns: ['time_created', 'time_updated', 'time_finished'],
};

export const RAW_DATA: OrdsTable = {
  name: 'raw_data',
  columns: ['id', 'digital_twin_instance_id', 'endpoint', 'content_type', 'content', 'time_received'],
  payloadColumns: ['content'],
  timeColumns: ['time_received'],
};

export const HISTORIZED_DATA: OrdsTable = {
  name: 'historized_data',
  columns: ['id', 'digital_twin_instance_id', 'content_path', 'value', 'time_observed'],
  payloadColumns: [],
  jsonColumns: ['value'],
  timeColumns: ['time_observed'],
  microTimeColumns: ['time_observed'],
};

export const SNAPSHOT_DATA: OrdsTable = {
  name: 'snapshot_data',
  columns: ['digital_twin_instance_id', 'content_path', 'value', 'time_observed'],
  payloadColumns: [],
  jsonColumns: ['value'],
  timeColumns: ['time_observed'],
  microTimeColumns: ['time_observed'],
  defaultOrder: 'digital_twin_instance_id ASC, content_path ASC',
  noId: true,
};

export const REJECTED_DATA: OrdsTable = {
  name: 'rejected_data',
  columns: ['id', 'digital_twin_instance_id', 'endpoint', 'content', 'content_type', 'time_received', 'reason_code', 'reason_message'],
  payloadColumns: ['content'],
  timeColumns: ['time_received'],
};

const OPERATORS: Record<string, string> = { $eq: '=', $ne: '<>', $gt: '>', $gte: '>=', $lt: '<', $lte: '<=', $like: 'LIKE' };
const MAX_TERMS = 50;
const MAX_DEPTH = 8;
/**
 * SQLite's LIKE costs up to (pattern length x value length) per row, so patterns are
 * short and never run over the payload columns (up to 256 KiB each). The sql command,
 * which has a statement time limit, is the place for searching payloads.
 */
export const MAX_LIKE_PATTERN = 128;

export interface CompiledQuery {
  where: string;
  params: unknown[];
  orderBy: string;
}

/**
 * Compiles an ORDS `q` filter (`{"$and":[{"col":{"$gte":{"$date":"…"}}}], "$orderby":{"col":"desc"}}`)
 * into a parameterised WHERE clause over known columns only.
 */
export function compileOrdsQuery(table: OrdsTable, q: string | undefined): CompiledQuery {
  const defaultOrder = table.defaultOrder ?? 'id ASC';
  if (q === undefined || q.trim() === '') return { where: '1=1', params: [], orderBy: defaultOrder };
  let parsed: unknown;
  try {
    parsed = JSON.parse(q);
  } catch {
    throw invalid('q is not valid JSON');
  }
  if (!isObject(parsed)) throw invalid('q must be a JSON object');
  const params: unknown[] = [];
  let terms = 0;
  let orderBy = defaultOrder;

  const column = (name: string): string => {
    if (!table.columns.includes(name)) throw invalid(`q: ${name} is not a column of ${table.name}`);
    return name;
  };

  // A time compares as text in the column's own form: milliseconds, or microseconds for microTimeColumns.
  const timeText = (col: string, text: string): string | null => {
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) return null;
    return table.microTimeColumns?.includes(col) ? isoMicros(epochMicrosOf(text)) : date.toISOString();
  };
  const literal = (col: string, value: unknown): unknown => {
    if (isObject(value) && '$date' in value) {
      const text = timeText(col, String(value.$date));
      if (text === null) throw invalid(`q: ${String(value.$date)} is not a date`);
      return text;
    }
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
      if (typeof value === 'string' && table.timeColumns.includes(col)) {
        const text = timeText(col, value);
        if (text !== null) return text;
      }
      return typeof value === 'boolean' ? Number(value) : value;
    }
    throw invalid(`q: unsupported value for ${col}: ${JSON.stringify(value)}`);
  };

  const condition = (col: string, value: unknown): string => {
    if (++terms > MAX_TERMS) throw invalid(`q has more than ${MAX_TERMS} conditions`);
    if (!isObject(value) || '$date' in value) {
      const v = literal(col, value);
      if (v === null) return `${col} IS NULL`;
      params.push(v);
      return `${col} = ?`;
    }
    const parts: string[] = [];
    for (const [op, operand] of Object.entries(value)) {
      if (op === '$null') parts.push(`${col} IS NULL`);
      else if (op === '$notnull') parts.push(`${col} IS NOT NULL`);
      else if (op === '$in' || op === '$nin') {
        if (!Array.isArray(operand) || operand.length === 0 || operand.length > MAX_TERMS) {
          throw invalid(`q: ${op} takes a list of 1 to ${MAX_TERMS} values`);
        }
        for (const item of operand) params.push(literal(col, item));
        parts.push(`${col} ${op === '$in' ? 'IN' : 'NOT IN'} (${operand.map(() => '?').join(', ')})`);
      } else if (op === '$like') {
        if (table.payloadColumns.includes(col)) throw invalid(`q: $like is not supported on the payload column ${col}`);
        if (typeof operand !== 'string' || operand.length > MAX_LIKE_PATTERN) {
          throw invalid(`q: $like takes a pattern of at most ${MAX_LIKE_PATTERN} characters`);
        }
        params.push(operand);
        parts.push(`${col} LIKE ?`);
      } else if (Object.hasOwn(OPERATORS, op)) {
        params.push(literal(col, operand));
        parts.push(`${col} ${OPERATORS[op]} ?`);
      } else throw invalid(`q: unsupported operator ${op}`);
    }
    if (parts.length === 0) throw invalid(`q: empty condition for ${col}`);
    return parts.join(' AND ');
  };

  const group = (node: unknown, depth: number): string => {
    if (depth > MAX_DEPTH) throw invalid(`q is nested deeper than ${MAX_DEPTH} levels`);
    if (!isObject(node)) throw invalid('q: every filter must be a JSON object');
    const parts: string[] = [];
    for (const [key, value] of Object.entries(node)) {
      if (key === '$orderby') {
        if (depth !== 0) throw invalid('q: $orderby belongs at the top level');
        orderBy = orderClause(value);
      } else if (key === '$and' || key === '$or') {
        if (!Array.isArray(value) || value.length === 0) throw invalid(`q: ${key} takes a non-empty list`);
        parts.push(`(${value.map((v) => group(v, depth + 1)).join(key === '$and' ? ' AND ' : ' OR ')})`);
      } else {
        parts.push(condition(column(key), value));
      }
    }
    return parts.length ? parts.join(' AND ') : '1=1';
  };

  const orderClause = (value: unknown): string => {
    if (!isObject(value)) throw invalid('q: $orderby must be an object such as {"time_created":"desc"}');
    const keys = Object.entries(value).map(([col, dir]) => {
      const d = String(dir).toLowerCase();
      const desc = d === 'desc' || d === '-1';
      if (!desc && d !== 'asc' && d !== '1') throw invalid(`q: $orderby direction for ${col} must be asc or desc`);
      return `${column(col)} ${desc ? 'DESC' : 'ASC'}`;
    });
    return [...keys, defaultOrder].join(', ');
  };

  const where = group(parsed, 0);
  return { where, params, orderBy };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
