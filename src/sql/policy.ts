/**
 * What the sql command refuses beyond what its read-only connection already cannot do.
 * The connection (SQLITE_OPEN_READONLY, query_only) is what makes writes impossible;
 * these rules close what a read-only connection still allows: ATTACH (reading any
 * SQLite file the process can open), pragmas that change connection settings, and
 * anything SQLite itself does not call read-only.
 */

/** Pragmas whose argument names a table or index, or bounds a check: reads, not settings. */
const PRAGMAS_READ_WITH_ARGUMENT = new Set([
  'table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list',
  'foreign_key_check', 'integrity_check', 'quick_check',
]);

/**
 * Pragmas that, without an argument, only report. Others without an argument act
 * (optimize runs ANALYZE, wal_checkpoint and incremental_vacuum write the file).
 */
const PRAGMAS_READ = new Set([
  ...PRAGMAS_READ_WITH_ARGUMENT, 'application_id', 'auto_vacuum', 'busy_timeout', 'cache_size', 'collation_list',
  'compile_options', 'data_version', 'database_list', 'encoding', 'foreign_keys', 'freelist_count', 'function_list',
  'journal_mode', 'locking_mode', 'module_list', 'page_count', 'page_size', 'pragma_list', 'query_only',
  'schema_version', 'synchronous', 'user_version',
]);

/** The statement's words, past whitespace and comments, upper-cased; enough to tell its kind. */
function words(sql: string, count: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sql.length && out.length < count) {
    const rest = sql.slice(i);
    const skip = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?(?:\*\/|$))/.exec(rest);
    if (skip) {
      i += skip[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_$]*|^./.exec(rest)!;
    out.push(word[0].toUpperCase());
    i += word[0].length;
  }
  return out;
}

export interface StatementFacts {
  /** SQLite: the statement returns rows. */
  reader: boolean;
  /** SQLite (sqlite3_stmt_readonly): the statement makes no direct change to the database. */
  readonly: boolean;
}

/** Why the statement is refused, or null if it may run. */
export function refusal(sql: string, stmt: StatementFacts): string | null {
  const [first, ...rest] = words(sql, 6);
  if (first === 'ATTACH' || first === 'DETACH') return `${first} is refused: the sql command reads the emulator database and nothing else`;
  if (first === 'PRAGMA') {
    // PRAGMA [schema.]name [= value | (value)]
    const name = (rest[1] === '.' ? rest[2] : rest[0]) ?? '';
    const next = rest[1] === '.' ? rest[3] : rest[1];
    const pragma = name.toLowerCase();
    if (next === '=') return `PRAGMA ${pragma} = ... is refused: pragmas that change settings are not allowed`;
    if (next === '(' && !PRAGMAS_READ_WITH_ARGUMENT.has(pragma)) return `PRAGMA ${pragma}(...) is refused: pragmas that change settings are not allowed`;
    if (!PRAGMAS_READ.has(pragma)) return `PRAGMA ${pragma} is refused: it is not one of the reporting pragmas the sql command allows`;
    // SQLite calls some reporting pragmas (journal_mode) not read-only, as they could take an argument.
    return stmt.reader ? null : `PRAGMA ${pragma} is refused: it returns nothing to read`;
  }
  if (!stmt.reader) return 'the sql command is read-only: only statements that return rows (SELECT, WITH, read-only PRAGMA) are allowed';
  if (!stmt.readonly) return 'the sql command is read-only: this statement would change the database';
  return null;
}

/** SQLite's own refusal of load_extension() says only "not authorized"; say what was refused. */
export function explainError(message: string, sql: string): string {
  if (message === 'not authorized' && /load_extension/i.test(sql)) return 'load_extension() is refused: extension loading is disabled';
  return message;
}
