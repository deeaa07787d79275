import { createHash } from 'node:crypto';
import type { Db } from './database.js';
import { cachedById } from './row-cache.js';
import { resourceTable, type ResourceTail } from './twin-resources.js';

export interface InstanceRow extends ResourceTail {
  connectivity_type: string;
  auth_id: string | null;
  external_key: string;
  digital_twin_model_id: string | null;
  digital_twin_model_spec_uri: string | null;
  digital_twin_adapter_id: string | null;
  gateways: string | null;
}

export const etagOf = (row: Pick<InstanceRow, 'id' | 'revision'>): string =>
  createHash('sha256').update(`${row.id}:${row.revision}`).digest('hex').slice(0, 32);

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
  const table = resourceTable<InstanceRow>(db, 'digital_twin_instances', [
    'connectivity_type', 'auth_id', 'external_key', 'digital_twin_model_id', 'digital_twin_model_spec_uri', 'digital_twin_adapter_id', 'gateways',
  ]);
  const activeByExternalKey = db.prepare(
    "SELECT * FROM digital_twin_instances WHERE iot_domain_id = ? AND external_key = ? AND lifecycle_state = 'ACTIVE'",
  );
  // Few instances are INDIRECT, and a gateway's list is short: a scan of them is cheap.
  const indirectOf = db.prepare(
    `SELECT id FROM digital_twin_instances
     WHERE connectivity_type = 'INDIRECT' AND lifecycle_state = 'ACTIVE'
       AND EXISTS (SELECT 1 FROM json_each(gateways) WHERE value = ?)`,
  );

  return {
    insert: table.insert,
    // Read for every invoke and every device message.
    get: cachedById(db, 'digital_twin_instances', table.get),
    activeByExternalKey: (domainId: string, externalKey: string) =>
      activeByExternalKey.get(domainId, externalKey) as InstanceRow | undefined,
    /** The ACTIVE INDIRECT instances that name this gateway in their `gateways`. */
    indirectOf: (gatewayId: string) => (indirectOf.all(gatewayId) as Array<{ id: string }>).map((r) => r.id),
    update: table.update,
    list: (f: InstanceFilter) =>
      table.list({
        iotDomainId: f.iotDomainId,
        equals: {
          id: f.id,
          display_name: f.displayName,
          connectivity_type: f.connectivityType,
          digital_twin_model_id: f.digitalTwinModelId,
          digital_twin_model_spec_uri: f.digitalTwinModelSpecUri,
        },
        lifecycleState: f.lifecycleState,
        sortBy: f.sortBy,
        sortOrder: f.sortOrder,
        offset: f.offset,
        limit: f.limit,
      }),
  };
}

export type InstanceStore = ReturnType<typeof instanceStore>;
