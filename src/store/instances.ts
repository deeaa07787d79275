import { createHash } from 'node:crypto';
import { prepared, type Db } from './database.js';

export interface InstanceRow {
  id: string;
  iot_domain_id: string;
  connectivity_type: string;
  auth_id: string | null;
  external_key: string;
  display_name: string;
  description: string | null;
  digital_twin_model_id: string | null;
  digital_twin_model_spec_uri: string | null;
  digital_twin_adapter_id: string | null;
  gateways: string | null;
  freeform_tags: string;
  defined_tags: string;
  system_tags: string;
  lifecycle_state: 'ACTIVE' | 'DELETED';
  time_created: string;
  time_updated: string;
  revision: number;
}

export const etagOf = (row: Pick<InstanceRow, 'id' | 'revision'>): string =>
  createHash('sha256').update(`${row.id}:${row.revision}`).digest('hex').slice(0, 32);

const COLUMNS = [
  'id', 'iot_domain_id', 'connectivity_type', 'auth_id', 'external_key', 'display_name', 'description',
  'digital_twin_model_id', 'digital_twin_model_spec_uri', 'digital_twin_adapter_id', 'gateways',
  'freeform_tags', 'defined_tags', 'system_tags', 'lifecycle_state', 'time_created', 'time_updated', 'revision',
] as const;

export interface InstanceFilter {
  iotDomainId: string;
  id?: string;
  displayName?: string;
  lifecycleState?: string;
  connectivityType?: string;
  digitalTwinModelId?: string;
  digitalTwinModelSpecUri?: string;
  sortBy: 'timeCreated' | 'displayName';
  sortOrder: 'ASC' | 'DESC';
  offset: number;
  limit: number;
}

/** The `digital_twin_instances` table. */
export function instanceStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO digital_twin_instances (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`,
  );
  const byId = db.prepare('SELECT * FROM digital_twin_instances WHERE id = ?');
  const activeByExternalKey = db.prepare(
    "SELECT * FROM digital_twin_instances WHERE iot_domain_id = ? AND external_key = ? AND lifecycle_state = 'ACTIVE'",
  );
  // Few instances are INDIRECT, and a gateway's list is short: a scan of them is cheap.
  const indirectOf = db.prepare(
    `SELECT id FROM digital_twin_instances
     WHERE connectivity_type = 'INDIRECT' AND lifecycle_state = 'ACTIVE'
       AND EXISTS (SELECT 1 FROM json_each(gateways) WHERE value = ?)`,
  );
  const update = db.prepare(
    `UPDATE digital_twin_instances SET ${COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`,
  );

  return {
    insert: (row: InstanceRow) => void insert.run(row),
    get: (id: string) => byId.get(id) as InstanceRow | undefined,
    activeByExternalKey: (domainId: string, externalKey: string) =>
      activeByExternalKey.get(domainId, externalKey) as InstanceRow | undefined,
    /** The ACTIVE INDIRECT instances that name this gateway in their `gateways`. */
    indirectOf: (gatewayId: string) => (indirectOf.all(gatewayId) as Array<{ id: string }>).map((r) => r.id),
    /** Writes the whole row back and bumps its revision (and so its etag). */
    update(row: InstanceRow): InstanceRow {
      const next = { ...row, revision: row.revision + 1 };
      update.run(next);
      return next;
    },
    /** One page plus whether more rows follow, so the caller can hand out `opc-next-page`. */
    list(f: InstanceFilter): { rows: InstanceRow[]; more: boolean } {
      const where = ['iot_domain_id = @iotDomainId'];
      if (f.id !== undefined) where.push('id = @id');
      if (f.displayName !== undefined) where.push('display_name = @displayName');
      // Deleted instances are only listed when asked for, as they vanish from OCI's lists.
      where.push(f.lifecycleState !== undefined ? 'lifecycle_state = @lifecycleState' : "lifecycle_state = 'ACTIVE'");
      if (f.connectivityType !== undefined) where.push('connectivity_type = @connectivityType');
      if (f.digitalTwinModelId !== undefined) where.push('digital_twin_model_id = @digitalTwinModelId');
      if (f.digitalTwinModelSpecUri !== undefined) where.push('digital_twin_model_spec_uri = @digitalTwinModelSpecUri');
      const column = f.sortBy === 'displayName' ? 'display_name' : 'time_created';
      const dir = f.sortOrder === 'ASC' ? 'ASC' : 'DESC';
      // The filters combine into a few dozen shapes at most, each compiled once.
      const rows = prepared(
        db,
        `SELECT * FROM digital_twin_instances WHERE ${where.join(' AND ')}
         ORDER BY ${column} ${dir}, id ${dir} LIMIT @take OFFSET @offset`,
      ).all({ ...f, take: f.limit + 1, offset: f.offset }) as InstanceRow[];
      const more = rows.length > f.limit;
      return { rows: more ? rows.slice(0, f.limit) : rows, more };
    },
  };
}

export type InstanceStore = ReturnType<typeof instanceStore>;
