import { base32, ocid } from '../ids.js';
import type { Db } from './database.js';

export interface DomainGroupRow {
  id: string;
  compartment_id: string;
  display_name: string;
  description: string | null;
  type: string;
  data_host: string;
  db_connection_string: string | null;
  db_token_scope: string | null;
  lifecycle_state: string;
  time_created: string;
  time_updated: string;
  /** JSON array of VCN OCIDs (configureDataAccess of the group). */
  db_allow_listed_vcn_ids: string;
  freeform_tags: string;
  defined_tags: string;
  /** Bumped by every change, so it makes the etag. */
  revision: number;
}

export interface DomainRow {
  id: string;
  iot_domain_group_id: string;
  compartment_id: string;
  display_name: string;
  description: string | null;
  short_id: string;
  device_host: string;
  lifecycle_state: string;
  time_created: string;
  time_updated: string;
  /** JSON array of IAM group names (DIRECT data access). */
  db_allow_listed_identity_group_names: string;
  /** ORDS data access: the identity domain host tokens come from. */
  db_allowed_identity_domain_host: string | null;
  /** 1 once APEX data access was configured (its password is not kept). */
  apex_workspace_configured: number;
  retention_raw_data: number;
  retention_rejected_data: number;
  retention_historized_data: number;
  retention_raw_command_data: number;
  freeform_tags: string;
  defined_tags: string;
  revision: number;
}

export const EMULATOR_COMPARTMENT = 'ocid1.compartment.oc1..emulator';

/** The `iot_domain_groups` and `iot_domains` tables. */
export function domainStore(db: Db) {
  // The first domain still alive: a deleted default domain is replaced rather than revived.
  const first = db.prepare("SELECT * FROM iot_domains WHERE lifecycle_state NOT IN ('DELETED', 'DELETING', 'FAILED') ORDER BY time_created, rowid LIMIT 1");
  const insertGroup = db.prepare(
    `INSERT INTO iot_domain_groups (id, compartment_id, display_name, description, type, data_host,
       db_connection_string, db_token_scope, lifecycle_state, time_created, time_updated)
     VALUES (?, ?, 'emulator-domain-group', 'Created by oci-iot-emulator', 'DEVELOPMENT', ?, ?, ?, 'ACTIVE', ?, ?)`,
  );
  const insertDomain = db.prepare(
    `INSERT INTO iot_domains (id, iot_domain_group_id, compartment_id, display_name, description,
       short_id, device_host, lifecycle_state, time_created, time_updated)
     VALUES (?, ?, ?, 'emulator-domain', 'Created by oci-iot-emulator', ?, ?, 'ACTIVE', ?, ?)`,
  );
  const setDeviceHost = db.prepare('UPDATE iot_domains SET device_host = ?, time_updated = ? WHERE id = ?');
  const setDataHost = db.prepare('UPDATE iot_domain_groups SET data_host = ?, time_updated = ? WHERE id = ?');
  const byId = db.prepare('SELECT * FROM iot_domains WHERE id = ?');
  const byShortId = db.prepare('SELECT * FROM iot_domains WHERE short_id = ?');
  const all = db.prepare('SELECT * FROM iot_domains ORDER BY time_created');
  const groupById = db.prepare('SELECT * FROM iot_domain_groups WHERE id = ?');
  const allGroups = db.prepare('SELECT * FROM iot_domain_groups ORDER BY time_created');

  /**
   * The first domain group and domain are made on the first start and kept, so their ids
   * stay valid across restarts; a changed device host is written back so `deviceHost`
   * always tells devices where to connect. More domains are made through the API
   * (control/); this one is where devices that send no TLS SNI land.
   */
  const ensureDefault = db.transaction(
    (opts: { region: string; deviceHost: string; now: string }): { group: DomainGroupRow; domain: DomainRow } => {
      let domain = first.get() as DomainRow | undefined;
      if (!domain) {
        const groupShort = base32(12);
        const groupId = ocid('iotdomaingroup', opts.region);
        insertGroup.run(
          groupId,
          EMULATOR_COMPARTMENT,
          opts.deviceHost,
          `sqlite:${groupShort}`,
          `urn:oracle:db::id::${groupShort}`,
          opts.now,
          opts.now,
        );
        insertDomain.run(ocid('iotdomain', opts.region), groupId, EMULATOR_COMPARTMENT, base32(12), opts.deviceHost, opts.now, opts.now);
        domain = first.get() as DomainRow;
      } else if (domain.device_host !== opts.deviceHost) {
        setDeviceHost.run(opts.deviceHost, opts.now, domain.id);
        setDataHost.run(opts.deviceHost, opts.now, domain.iot_domain_group_id);
        domain = { ...domain, device_host: opts.deviceHost, time_updated: opts.now };
      }
      const group = groupById.get(domain.iot_domain_group_id) as DomainGroupRow;
      return { group, domain };
    },
  );

  return {
    ensureDefault: (opts: { region: string; deviceHost: string; now: string }) => ensureDefault(opts),
    get: (id: string) => byId.get(id) as DomainRow | undefined,
    byShortId: (shortId: string) => byShortId.get(shortId) as DomainRow | undefined,
    list: () => all.all() as DomainRow[],
    group: (id: string) => groupById.get(id) as DomainGroupRow | undefined,
    groups: () => allGroups.all() as DomainGroupRow[],
  };
}

export type DomainStore = ReturnType<typeof domainStore>;
