import type { Db } from './database.js';
import type { SecretRow } from './secrets.js';

/** A secret with the version bookkeeping rotation needs (columns of migration 5). */
export interface VersionedSecretRow extends SecretRow {
  previous_version_number: number | null;
  pending_version_number: number | null;
}

export interface SecretVersionRow {
  secret_id: string;
  version_number: number;
  content: string;
  time_created: string;
}

export type SecretStage = 'CURRENT' | 'PENDING' | 'LATEST' | 'PREVIOUS' | 'DEPRECATED';

export interface SecretListFilter {
  compartments: string[];
  name?: string;
  vaultId?: string;
  lifecycleState?: string;
  sortBy: 'TIMECREATED' | 'NAME';
  sortOrder: 'ASC' | 'DESC';
  offset: number;
  limit: number;
}

/**
 * Vault secret versions: every content a secret has had, and which one is CURRENT.
 * `vault_secrets.content` always mirrors the CURRENT version, so a device login reads one row.
 */
export function secretVersionStore(db: Db) {
  const insertVersion = db.prepare('INSERT INTO vault_secret_versions (secret_id, version_number, content, time_created) VALUES (?, ?, ?, ?)');
  const secretById = db.prepare('SELECT * FROM vault_secrets WHERE id = ?');
  const byName = db.prepare('SELECT * FROM vault_secrets WHERE vault_id = ? AND secret_name = ?');
  const version = db.prepare('SELECT * FROM vault_secret_versions WHERE secret_id = ? AND version_number = ?');
  const latest = db.prepare('SELECT max(version_number) AS n FROM vault_secret_versions WHERE secret_id = ?');
  const deprecated = db.prepare(
    'SELECT max(version_number) AS n FROM vault_secret_versions WHERE secret_id = ? AND version_number NOT IN (?, ?, ?)',
  );
  const update = db.prepare(
    `UPDATE vault_secrets SET content = @content, version_number = @version_number, previous_version_number = @previous_version_number,
       pending_version_number = @pending_version_number, description = @description, freeform_tags = @freeform_tags,
       defined_tags = @defined_tags, time_updated = @time_updated WHERE id = @id`,
  );
  const lists = new Map<string, ReturnType<Db['prepare']>>();

  const get = (id: string) => secretById.get(id) as VersionedSecretRow | undefined;
  const latestOf = (id: string) => (latest.get(id) as { n: number | null }).n ?? 0;

  return {
    get,
    byName: (vaultId: string, name: string) => byName.get(vaultId, name) as VersionedSecretRow | undefined,
    version: (secretId: string, n: number) => version.get(secretId, n) as SecretVersionRow | undefined,

    /** Version 1 of a new secret; its caller's transaction holds the secret row too. */
    addFirstVersion(row: SecretRow): void {
      insertVersion.run(row.id, row.version_number, row.content, row.time_created);
    },

    /** The version holding `stage`, or undefined when no version holds it. */
    versionAtStage(s: VersionedSecretRow, stage: SecretStage): number | undefined {
      switch (stage) {
        case 'CURRENT':
          return s.version_number;
        case 'PENDING':
          return s.pending_version_number ?? undefined;
        case 'PREVIOUS':
          return s.previous_version_number ?? undefined;
        case 'LATEST':
          return latestOf(s.id);
        case 'DEPRECATED': {
          const n = (deprecated.get(s.id, s.version_number, s.previous_version_number ?? -1, s.pending_version_number ?? -1) as { n: number | null }).n;
          return n ?? undefined;
        }
      }
    },

    /** The stages a version is in, as Secrets' bundles list them. */
    stagesOf(s: VersionedSecretRow, n: number): SecretStage[] {
      const stages: SecretStage[] = [];
      if (n === s.version_number) stages.push('CURRENT');
      if (n === s.pending_version_number) stages.push('PENDING');
      if (n === s.previous_version_number) stages.push('PREVIOUS');
      if (stages.length === 0) stages.push('DEPRECATED');
      if (n === latestOf(s.id)) stages.push('LATEST');
      return stages;
    },

    /**
     * UpdateSecret in one transaction: new content becomes a new version (CURRENT unless it
     * is staged PENDING), or an existing version is made CURRENT; metadata changes apply.
     */
    update(
      id: string,
      change: { content?: string; stage?: 'CURRENT' | 'PENDING'; currentVersionNumber?: number; description?: string; freeformTags?: string; definedTags?: string },
      now: string,
    ): VersionedSecretRow {
      return db.transaction(() => {
        const s = get(id)!;
        const next: VersionedSecretRow = {
          ...s,
          description: change.description ?? s.description,
          freeform_tags: change.freeformTags ?? s.freeform_tags,
          defined_tags: change.definedTags ?? s.defined_tags,
          time_updated: now,
        };
        const makeCurrent = (n: number, content: string) => {
          if (n === next.version_number) return;
          next.previous_version_number = next.version_number;
          next.version_number = n;
          next.content = content;
          if (next.pending_version_number === n) next.pending_version_number = null;
        };
        if (change.content !== undefined) {
          const n = latestOf(id) + 1;
          insertVersion.run(id, n, change.content, now);
          if (change.stage === 'PENDING') next.pending_version_number = n;
          else makeCurrent(n, change.content);
        } else if (change.currentVersionNumber !== undefined) {
          const v = version.get(id, change.currentVersionNumber) as SecretVersionRow;
          makeCurrent(v.version_number, v.content);
        }
        update.run(next);
        return get(id)!;
      })();
    },

    list(f: SecretListFilter): { rows: VersionedSecretRow[]; more: boolean } {
      const where = [`compartment_id IN (${f.compartments.map((_, i) => `@c${i}`).join(', ')})`];
      if (f.name !== undefined) where.push('secret_name = @name');
      if (f.vaultId !== undefined) where.push('vault_id = @vaultId');
      if (f.lifecycleState !== undefined) where.push('lifecycle_state = @lifecycleState');
      const column = f.sortBy === 'NAME' ? 'secret_name' : 'time_created';
      const dir = f.sortOrder === 'ASC' ? 'ASC' : 'DESC';
      const sql = `SELECT * FROM vault_secrets WHERE ${where.join(' AND ')} ORDER BY ${column} ${dir}, id ${dir} LIMIT @take OFFSET @offset`;
      let statement = lists.get(sql);
      if (!statement) lists.set(sql, (statement = db.prepare(sql)));
      const params = Object.fromEntries(f.compartments.map((c, i) => [`c${i}`, c]));
      const rows = statement.all({ ...f, ...params, take: f.limit + 1 }) as VersionedSecretRow[];
      const more = rows.length > f.limit;
      return { rows: more ? rows.slice(0, f.limit) : rows, more };
    },
  };
}

export type SecretVersionStore = ReturnType<typeof secretVersionStore>;
