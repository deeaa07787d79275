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

export function insertInstance(db: Db, row: InstanceRow): void {
  prepared(
    db,
    `INSERT INTO digital_twin_instances (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => '@' + c).join(', ')})`,
  ).run(row);
}

export function getInstance(db: Db, id: string): InstanceRow | undefined {
  return prepared(db, 'SELECT * FROM digital_twin_instances WHERE id = ?').get(id) as InstanceRow | undefined;
}

export function findActiveByExternalKey(db: Db, domainId: string, externalKey: string): InstanceRow | undefined {
  return prepared(db, "SELECT * FROM digital_twin_instances WHERE iot_domain_id = ? AND external_key = ? AND lifecycle_state = 'ACTIVE'")
    .get(domainId, externalKey) as InstanceRow | undefined;
}

/** Writes the whole row back and bumps its revision (and so its etag). */
export function updateInstance(db: Db, row: InstanceRow): InstanceRow {
  const next = { ...row, revision: row.revision + 1 };
  const sets = COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = @${c}`).join(', ');
  prepared(db, `UPDATE digital_twin_instances SET ${sets} WHERE id = @id`).run(next);
  return next;
}

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

/** One page plus whether more rows follow, so the caller can hand out `opc-next-page`. */
export function listInstances(db: Db, f: InstanceFilter): { rows: InstanceRow[]; more: boolean } {
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
  const rows = db
    .prepare(
      `SELECT * FROM digital_twin_instances WHERE ${where.join(' AND ')}
       ORDER BY ${column} ${dir}, id ${dir} LIMIT @take OFFSET @offset`,
    )
    .all({ ...f, take: f.limit + 1, offset: f.offset }) as InstanceRow[];
  const more = rows.length > f.limit;
  return { rows: more ? rows.slice(0, f.limit) : rows, more };
}
