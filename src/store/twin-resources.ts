import type { Db } from './database.js';

/** What every digital twin resource row ends with (OCI's lifecycle, tags and times, plus our etag revision). */
export interface ResourceTail {
  id: string;
  iot_domain_id: string;
  display_name: string;
  description: string | null;
  freeform_tags: string;
  defined_tags: string;
  system_tags: string;
  lifecycle_state: 'ACTIVE' | 'DELETED';
  time_created: string;
  time_updated: string;
  revision: number;
}

export interface ModelRow extends ResourceTail {
  spec_uri: string;
  /** The DTDL document as the caller gave it (JSON text). */
  spec: string;
}

export interface AdapterRow extends ResourceTail {
  digital_twin_model_id: string;
  digital_twin_model_spec_uri: string;
  /** JSON text of OCI's inboundEnvelope, as stored (generated for a default adapter). */
  inbound_envelope: string;
  /** JSON text of OCI's inboundRoutes list. */
  inbound_routes: string;
}

export interface RelationshipRow extends ResourceTail {
  content_path: string;
  source_digital_twin_instance_id: string;
  target_digital_twin_instance_id: string;
  content: string | null;
}

const TAIL = [
  'id', 'iot_domain_id', 'display_name', 'description', 'freeform_tags', 'defined_tags', 'system_tags',
  'lifecycle_state', 'time_created', 'time_updated', 'revision',
] as const;

/** A list filter: equality on the named columns, plus the paging and sorting OCI's lists take. */
export interface ResourceListFilter {
  iotDomainId: string;
  equals: Record<string, string | undefined>;
  /** Only rows whose column starts with this text (OCI's `specUriStartsWith`). */
  startsWith?: { column: string; prefix: string };
  lifecycleState?: string;
  sortBy: 'timeCreated' | 'displayName';
  sortOrder: 'ASC' | 'DESC';
  offset: number;
  limit: number;
}

/**
 * One table of digital twin resources (instances, models, adapters, relationships all have
 * the same life: create, get, update with a new revision, soft delete, list a domain's with
 * paging).
 */
export function resourceTable<Row extends ResourceTail>(db: Db, table: string, own: readonly string[]) {
  const columns = [...TAIL, ...own];
  const insert = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`);
  const byId = db.prepare(`SELECT * FROM ${table} WHERE id = ?`);
  const update = db.prepare(
    `UPDATE ${table} SET ${columns.filter((c) => c !== 'id').map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`,
  );
  const listStatements = new Map<string, ReturnType<Db['prepare']>>();

  return {
    insert: (row: Row) => void insert.run(row),
    get: (id: string) => byId.get(id) as Row | undefined,
    /** Writes the whole row back and bumps its revision (and so its etag). */
    update(row: Row): Row {
      const next = { ...row, revision: row.revision + 1 };
      update.run(next);
      return next;
    },
    /** One page plus whether more rows follow, so the caller can hand out `opc-next-page`. */
    list(f: ResourceListFilter): { rows: Row[]; more: boolean } {
      const params: Record<string, unknown> = { iotDomainId: f.iotDomainId, take: f.limit + 1, offset: f.offset };
      const where = ['iot_domain_id = @iotDomainId'];
      for (const [column, value] of Object.entries(f.equals)) {
        if (value === undefined) continue;
        if (!columns.includes(column)) throw new Error(`${table} has no column ${column}`);
        where.push(`${column} = @${column}`);
        params[column] = value;
      }
      if (f.startsWith) {
        where.push(`substr(${f.startsWith.column}, 1, length(@prefix)) = @prefix`);
        params.prefix = f.startsWith.prefix;
      }
      // Deleted resources are only listed when asked for, as they vanish from OCI's lists.
      where.push(f.lifecycleState !== undefined ? 'lifecycle_state = @lifecycleState' : "lifecycle_state = 'ACTIVE'");
      if (f.lifecycleState !== undefined) params.lifecycleState = f.lifecycleState;
      const column = f.sortBy === 'displayName' ? 'display_name' : 'time_created';
      const dir = f.sortOrder === 'ASC' ? 'ASC' : 'DESC';
      const sql = `SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ${column} ${dir}, id ${dir} LIMIT @take OFFSET @offset`;
      let statement = listStatements.get(sql);
      if (!statement) listStatements.set(sql, (statement = db.prepare(sql)));
      const rows = statement.all(params) as Row[];
      const more = rows.length > f.limit;
      return { rows: more ? rows.slice(0, f.limit) : rows, more };
    },
  };
}

export function modelStore(db: Db) {
  const table = resourceTable<ModelRow>(db, 'digital_twin_models', ['spec_uri', 'spec']);
  const activeBySpecUri = db.prepare(
    "SELECT * FROM digital_twin_models WHERE iot_domain_id = ? AND spec_uri = ? AND lifecycle_state = 'ACTIVE'",
  );
  const usedByInstance = db.prepare(
    `SELECT id FROM digital_twin_instances WHERE lifecycle_state = 'ACTIVE'
       AND (digital_twin_model_id = @id OR (digital_twin_model_id IS NULL AND digital_twin_model_spec_uri = @specUri AND iot_domain_id = @domain))
     LIMIT 1`,
  );
  const usedByAdapter = db.prepare(
    "SELECT id FROM digital_twin_adapters WHERE lifecycle_state = 'ACTIVE' AND digital_twin_model_id = ? LIMIT 1",
  );
  return {
    ...table,
    activeBySpecUri: (domainId: string, specUri: string) => activeBySpecUri.get(domainId, specUri) as ModelRow | undefined,
    /** An active instance or adapter that still names the model, if any (a model in use is not deleted). */
    user(row: ModelRow): { kind: 'instance' | 'adapter'; id: string } | undefined {
      const instance = usedByInstance.get({ id: row.id, specUri: row.spec_uri, domain: row.iot_domain_id }) as { id: string } | undefined;
      if (instance) return { kind: 'instance', id: instance.id };
      const adapter = usedByAdapter.get(row.id) as { id: string } | undefined;
      return adapter ? { kind: 'adapter', id: adapter.id } : undefined;
    },
  };
}

export function adapterStore(db: Db) {
  const table = resourceTable<AdapterRow>(db, 'digital_twin_adapters', [
    'digital_twin_model_id', 'digital_twin_model_spec_uri', 'inbound_envelope', 'inbound_routes',
  ]);
  const usedByInstance = db.prepare(
    "SELECT id FROM digital_twin_instances WHERE lifecycle_state = 'ACTIVE' AND digital_twin_adapter_id = ? LIMIT 1",
  );
  return {
    ...table,
    /** An active instance that still names the adapter, if any. */
    user: (id: string) => (usedByInstance.get(id) as { id: string } | undefined)?.id,
  };
}

export function relationshipStore(db: Db) {
  return resourceTable<RelationshipRow>(db, 'digital_twin_relationships', [
    'content_path', 'source_digital_twin_instance_id', 'target_digital_twin_instance_id', 'content',
  ]);
}

export type ModelStore = ReturnType<typeof modelStore>;
export type AdapterStore = ReturnType<typeof adapterStore>;
export type RelationshipStore = ReturnType<typeof relationshipStore>;
