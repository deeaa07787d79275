import type { Db } from './database.js';
import type { DomainGroupRow, DomainRow } from './control-plane.js';
import type { InstanceRow } from './instances.js';
import type { SecretRow } from './secrets.js';
import type { AdapterRow, ModelRow, RelationshipRow } from './twin-resources.js';
import type { VirtualDeviceRow } from './virtual-devices.js';

/** Every resource a seed file can hold, as it is now: what is not deleted, oldest first. */
export interface LiveResources {
  groups: DomainGroupRow[];
  domains: DomainRow[];
  secrets: SecretRow[];
  models: ModelRow[];
  adapters: AdapterRow[];
  instances: InstanceRow[];
  relationships: RelationshipRow[];
  virtualDevices: VirtualDeviceRow[];
}

/** Reads of every live resource at once, for loading a seed file (what is there already) and for the export. */
export function liveResourceStore(db: Db) {
  const query = (sql: string) => db.prepare(sql);
  const statements = {
    groups: query(`SELECT * FROM iot_domain_groups WHERE lifecycle_state NOT IN ('DELETED', 'DELETING') ORDER BY time_created, rowid`),
    // In the order the emulator picks its default domain by (the first live one).
    domains: query(`SELECT * FROM iot_domains WHERE lifecycle_state NOT IN ('DELETED', 'DELETING') ORDER BY time_created, rowid`),
    secrets: query(`SELECT * FROM vault_secrets WHERE lifecycle_state = 'ACTIVE' ORDER BY time_created, rowid`),
    models: query(`SELECT * FROM digital_twin_models WHERE lifecycle_state = 'ACTIVE' ORDER BY time_created, rowid`),
    adapters: query(`SELECT * FROM digital_twin_adapters WHERE lifecycle_state = 'ACTIVE' ORDER BY time_created, rowid`),
    instances: query(`SELECT * FROM digital_twin_instances WHERE lifecycle_state = 'ACTIVE' ORDER BY time_created, rowid`),
    relationships: query(`SELECT * FROM digital_twin_relationships WHERE lifecycle_state = 'ACTIVE' ORDER BY time_created, rowid`),
    virtualDevices: query('SELECT * FROM virtual_devices ORDER BY time_created, rowid'),
  };
  return {
    read(): LiveResources {
      return {
        groups: statements.groups.all() as DomainGroupRow[],
        domains: statements.domains.all() as DomainRow[],
        secrets: statements.secrets.all() as SecretRow[],
        models: statements.models.all() as ModelRow[],
        adapters: statements.adapters.all() as AdapterRow[],
        instances: statements.instances.all() as InstanceRow[],
        relationships: statements.relationships.all() as RelationshipRow[],
        virtualDevices: statements.virtualDevices.all() as VirtualDeviceRow[],
      };
    },
  };
}
