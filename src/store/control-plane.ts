import { clientCertificateStore } from './client-certificates.js';
import type { Db } from './database.js';
import { cachedById } from './row-cache.js';
import { base32, ocid } from '../ids.js';

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

/** The first domain's deviceHost and its group's dataHost and dbConnectionString (used when the group is made), from their short ids. */
export type DefaultHosts = (domainShortId: string, groupShortId: string) => { deviceHost: string; dataHost: string; dbConnectionString: string };

/** A group's short id: the id part of its token scope (`urn:oracle:db::id::<short>`), the first label of its dataHost. */
export function groupShortOf(group: Pick<DomainGroupRow, 'db_token_scope' | 'id'>): string {
  return /::id::([a-z0-9]+)$/i.exec(group.db_token_scope ?? '')?.[1] ?? group.id.slice(-12).toLowerCase();
}

/** OCI's work request statuses (oci-iot `OperationStatus`). */
export type WorkRequestStatus = 'ACCEPTED' | 'IN_PROGRESS' | 'WAITING' | 'NEEDS_ATTENTION' | 'FAILED' | 'SUCCEEDED';

/** OCI's operation types (oci-iot `OperationType`). */
export type OperationType =
  | 'CREATE_IOT_DOMAIN'
  | 'UPDATE_IOT_DOMAIN'
  | 'DELETE_IOT_DOMAIN'
  | 'MOVE_IOT_DOMAIN'
  | 'MOVE_IOT_DOMAIN_GROUP'
  | 'CREATE_IOT_DOMAIN_GROUP'
  | 'UPDATE_IOT_DOMAIN_GROUP'
  | 'DELETE_IOT_DOMAIN_GROUP'
  | 'CONFIGURE_DOMAIN_DATA_ACCESS'
  | 'CONFIGURE_DOMAIN_GROUP_DATA_ACCESS'
  | 'CHANGE_IOT_DOMAIN_DATA_RETENTION';

export type EntityType = 'iotDomain' | 'iotDomainGroup';

export interface WorkRequestRow {
  id: string;
  operation_type: OperationType;
  status: WorkRequestStatus;
  compartment_id: string;
  resource_id: string;
  entity_type: EntityType;
  /** IN_PROGRESS until the work is done, then CREATED / UPDATED / DELETED (or FAILED). */
  action_type: string;
  percent_complete: number;
  /** JSON: what the operation applies when it succeeds. */
  payload: string;
  accepted_at_ms: number;
  next_step_ms: number | null;
  time_accepted: string;
  time_started: string | null;
  time_finished: string | null;
  time_updated: string;
}

export interface WorkRequestEntryRow {
  id: number;
  work_request_id: string;
  kind: 'log' | 'error';
  code: string | null;
  message: string;
  timestamp: string;
}

export interface Page<T> {
  rows: T[];
  more: boolean;
}

export interface ResourceListFilter {
  /** Resources in one of these compartments. */
  compartments: string[];
  id?: string;
  displayName?: string;
  lifecycleState?: string;
  iotDomainGroupId?: string;
  type?: string;
  sortBy: 'timeCreated' | 'displayName';
  sortOrder: 'ASC' | 'DESC';
  offset: number;
  limit: number;
}

export interface WorkRequestListFilter {
  compartments: string[];
  id?: string;
  status?: string;
  resourceId?: string;
  sortOrder: 'ASC' | 'DESC';
  offset: number;
  limit: number;
}

const GROUP_COLUMNS = [
  'id', 'compartment_id', 'display_name', 'description', 'type', 'data_host', 'db_connection_string', 'db_token_scope',
  'lifecycle_state', 'time_created', 'time_updated', 'db_allow_listed_vcn_ids', 'freeform_tags', 'defined_tags', 'revision',
] as const;
const DOMAIN_COLUMNS = [
  'id', 'iot_domain_group_id', 'compartment_id', 'display_name', 'description', 'short_id', 'device_host', 'lifecycle_state',
  'time_created', 'time_updated', 'db_allow_listed_identity_group_names', 'db_allowed_identity_domain_host',
  'apex_workspace_configured', 'retention_raw_data', 'retention_rejected_data', 'retention_historized_data',
  'retention_raw_command_data', 'freeform_tags', 'defined_tags', 'revision',
] as const;
const WORK_REQUEST_COLUMNS = [
  'id', 'operation_type', 'status', 'compartment_id', 'resource_id', 'entity_type', 'action_type', 'percent_complete',
  'payload', 'accepted_at_ms', 'next_step_ms', 'time_accepted', 'time_started', 'time_finished', 'time_updated',
] as const;

const insertSql = (table: string, columns: readonly string[]) =>
  `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((c) => '@' + c).join(', ')})`;
const updateSql = (table: string, columns: readonly string[]) =>
  `UPDATE ${table} SET ${columns.filter((c) => c !== 'id').map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`;

/** Lists filter on a fixed set of columns; the ORDER BY column comes from a closed choice. */
function listSql(table: string, f: ResourceListFilter, extra: string[]): string {
  const where = [`compartment_id IN (${f.compartments.map((_, i) => `@c${i}`).join(', ')})`, ...extra];
  if (f.id !== undefined) where.push('id = @id');
  if (f.displayName !== undefined) where.push('display_name = @displayName');
  // Deleted resources are listed only when asked for, as OCI's lists drop them.
  where.push(f.lifecycleState !== undefined ? 'lifecycle_state = @lifecycleState' : "lifecycle_state != 'DELETED'");
  const column = f.sortBy === 'displayName' ? 'display_name' : 'time_created';
  const dir = f.sortOrder === 'ASC' ? 'ASC' : 'DESC';
  return `SELECT * FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ${column} ${dir}, rowid ${dir} LIMIT @take OFFSET @offset`;
}

function page<T>(rows: T[], limit: number): Page<T> {
  const more = rows.length > limit;
  return { rows: more ? rows.slice(0, limit) : rows, more };
}

const compartmentParams = (compartments: string[]) => Object.fromEntries(compartments.map((c, i) => [`c${i}`, c]));

/**
 * Every statement of the control plane: domain groups, domains and the work requests that
 * change them. A change and its work request (with its log line) are written in one
 * transaction, so a failed request leaves neither.
 */
export function controlPlaneStore(db: Db) {
  const insertGroup = db.prepare(insertSql('iot_domain_groups', GROUP_COLUMNS));
  const updateGroup = db.prepare(updateSql('iot_domain_groups', GROUP_COLUMNS));
  const insertDomain = db.prepare(insertSql('iot_domains', DOMAIN_COLUMNS));
  const updateDomain = db.prepare(updateSql('iot_domains', DOMAIN_COLUMNS));
  const groupById = db.prepare('SELECT * FROM iot_domain_groups WHERE id = ?');
  const domainById = db.prepare('SELECT * FROM iot_domains WHERE id = ?');
  const domainsOfGroup = db.prepare('SELECT * FROM iot_domains WHERE iot_domain_group_id = ? ORDER BY time_created, rowid');
  const allDomains = db.prepare('SELECT * FROM iot_domains ORDER BY time_created, rowid');
  const liveDomains = db.prepare("SELECT * FROM iot_domains WHERE lifecycle_state != 'DELETED' ORDER BY time_created, rowid");
  const domainByHost = db.prepare("SELECT * FROM iot_domains WHERE device_host = ? COLLATE NOCASE AND lifecycle_state != 'DELETED' ORDER BY time_created, rowid LIMIT 1");
  const shortIdTaken = db.prepare('SELECT 1 FROM iot_domains WHERE short_id = ?');
  const insertWorkRequest = db.prepare(insertSql('work_requests', WORK_REQUEST_COLUMNS));
  const updateWorkRequest = db.prepare(updateSql('work_requests', WORK_REQUEST_COLUMNS));
  const workRequestById = db.prepare('SELECT * FROM work_requests WHERE id = ?');
  const firstWorkRequestFor = db.prepare('SELECT * FROM work_requests WHERE resource_id = ? ORDER BY time_accepted, rowid LIMIT 1');
  const openWorkRequestFor = db.prepare('SELECT * FROM work_requests WHERE resource_id = ? AND next_step_ms IS NOT NULL LIMIT 1');
  const nextDue = db.prepare('SELECT * FROM work_requests WHERE next_step_ms IS NOT NULL AND next_step_ms <= ? ORDER BY next_step_ms, rowid LIMIT 1');
  const nextStep = db.prepare('SELECT min(next_step_ms) AS at FROM work_requests WHERE next_step_ms IS NOT NULL');
  const insertEntry = db.prepare('INSERT INTO work_request_entries (work_request_id, kind, code, message, timestamp) VALUES (?, ?, ?, ?, ?)');
  const entries = (dir: 'ASC' | 'DESC') =>
    db.prepare(`SELECT * FROM work_request_entries WHERE work_request_id = ? AND kind = ? ORDER BY id ${dir} LIMIT ? OFFSET ?`);
  const entriesAsc = entries('ASC');
  const entriesDesc = entries('DESC');
  const activeInstancesOfDomain = db.prepare("SELECT id, auth_id FROM digital_twin_instances WHERE iot_domain_id = ? AND lifecycle_state = 'ACTIVE'");
  const deleteInstancesOfDomain = db.prepare(
    "UPDATE digital_twin_instances SET lifecycle_state = 'DELETED', time_updated = ?, revision = revision + 1 WHERE iot_domain_id = ? AND lifecycle_state = 'ACTIVE'",
  );
  // The first domain still alive: a deleted default domain is replaced rather than revived.
  const firstLiveDomain = db.prepare("SELECT * FROM iot_domains WHERE lifecycle_state NOT IN ('DELETED', 'DELETING', 'FAILED') ORDER BY time_created, rowid LIMIT 1");
  const insertDefaultGroup = db.prepare(
    `INSERT INTO iot_domain_groups (id, compartment_id, display_name, description, type, data_host,
       db_connection_string, db_token_scope, lifecycle_state, time_created, time_updated)
     VALUES (?, ?, 'emulator-domain-group', 'Created by oci-iot-emulator', 'DEVELOPMENT', ?, ?, ?, 'ACTIVE', ?, ?)`,
  );
  const insertDefaultDomain = db.prepare(
    `INSERT INTO iot_domains (id, iot_domain_group_id, compartment_id, display_name, description,
       short_id, device_host, lifecycle_state, time_created, time_updated)
     VALUES (?, ?, ?, 'emulator-domain', 'Created by oci-iot-emulator', ?, ?, 'ACTIVE', ?, ?)`,
  );
  const setDeviceHost = db.prepare('UPDATE iot_domains SET device_host = ?, time_updated = ? WHERE id = ?');
  const setDataHost = db.prepare('UPDATE iot_domain_groups SET data_host = ?, time_updated = ? WHERE id = ?');
  const domainByShortId = db.prepare('SELECT * FROM iot_domains WHERE short_id = ?');

  /**
   * The first domain group and domain are made on the first start and kept, so their ids
   * stay valid across restarts; a changed device host is written back so `deviceHost`
   * always tells devices where to connect. More domains are made through the API
   * (control/); this one is where devices that send no TLS SNI land.
   */
  const ensureDefault = db.transaction(
    (opts: { region: string; hostsOf: DefaultHosts; now: string }): { group: DomainGroupRow; domain: DomainRow } => {
      let domain = firstLiveDomain.get() as DomainRow | undefined;
      if (!domain) {
        const groupShort = base32(12);
        const domainShort = base32(12);
        const hosts = opts.hostsOf(domainShort, groupShort);
        const groupId = ocid('iotdomaingroup', opts.region);
        insertDefaultGroup.run(
          groupId,
          EMULATOR_COMPARTMENT,
          hosts.dataHost,
          hosts.dbConnectionString,
          `urn:oracle:db::id::${groupShort}`,
          opts.now,
          opts.now,
        );
        insertDefaultDomain.run(ocid('iotdomain', opts.region), groupId, EMULATOR_COMPARTMENT, domainShort, hosts.deviceHost, opts.now, opts.now);
        domain = firstLiveDomain.get() as DomainRow;
      }
      let group = groupById.get(domain.iot_domain_group_id) as DomainGroupRow;
      // Hosts are written back when their shape changed (older emulators gave the first domain `localhost`).
      const hosts = opts.hostsOf(domain.short_id, groupShortOf(group));
      if (domain.device_host !== hosts.deviceHost) {
        setDeviceHost.run(hosts.deviceHost, opts.now, domain.id);
        domain = { ...domain, device_host: hosts.deviceHost, time_updated: opts.now };
      }
      if (group.data_host !== hosts.dataHost) {
        setDataHost.run(hosts.dataHost, opts.now, group.id);
        group = { ...group, data_host: hosts.dataHost, time_updated: opts.now };
      }
      return { group, domain };
    },
  );

  const listCache = new Map<string, ReturnType<Db['prepare']>>();
  const cachedList = (sql: string) => {
    let statement = listCache.get(sql);
    if (!statement) listCache.set(sql, (statement = db.prepare(sql)));
    return statement;
  };

  const log = (workRequestId: string, message: string, timestamp: string) => insertEntry.run(workRequestId, 'log', null, message, timestamp);
  const certificates = clientCertificateStore(db);
  const deleteInstancesOf = (domainId: string, now: string): string[] => {
    const instances = activeInstancesOfDomain.all(domainId) as Array<{ id: string; auth_id: string | null }>;
    deleteInstancesOfDomain.run(now, domainId);
    for (const i of instances) if (i.auth_id) certificates.revoke(i.auth_id, now, `IoT domain ${domainId} deleted`);
    return instances.map((i) => i.id);
  };

  // Read for every invoke (its data API address).
  const domain = cachedById(db, 'iot_domains', (id) => domainById.get(id) as DomainRow | undefined);

  return {
    ensureDefault: (opts: { region: string; hostsOf: DefaultHosts; now: string }) => ensureDefault(opts),
    group: (id: string) => groupById.get(id) as DomainGroupRow | undefined,
    domain,
    /** The same as `domain`, by the name the command path (src/api/routes/invoke.ts) reads it with as `store.domains.get`. */
    get: domain,
    domainByShortId: (shortId: string) => domainByShortId.get(shortId) as DomainRow | undefined,
    domainsOfGroup: (groupId: string) => domainsOfGroup.all(groupId) as DomainRow[],
    allDomains: () => allDomains.all() as DomainRow[],
    /** Every domain not deleted, oldest first: the first is where SNI-less devices land. */
    liveDomains: () => liveDomains.all() as DomainRow[],
    domainByDeviceHost: (host: string) => domainByHost.get(host) as DomainRow | undefined,
    shortIdTaken: (shortId: string) => shortIdTaken.get(shortId) !== undefined,

    listGroups(f: ResourceListFilter): Page<DomainGroupRow> {
      const extra = f.type !== undefined ? ['type = @type'] : [];
      const rows = cachedList(listSql('iot_domain_groups', f, extra)).all({ ...f, ...compartmentParams(f.compartments), take: f.limit + 1 }) as DomainGroupRow[];
      return page(rows, f.limit);
    },
    listDomains(f: ResourceListFilter): Page<DomainRow> {
      const extra = f.iotDomainGroupId !== undefined ? ['iot_domain_group_id = @iotDomainGroupId'] : [];
      const rows = cachedList(listSql('iot_domains', f, extra)).all({ ...f, ...compartmentParams(f.compartments), take: f.limit + 1 }) as DomainRow[];
      return page(rows, f.limit);
    },

    /** A resource (new or changed) and the work request that will finish it, in one transaction. */
    accept(change: { group?: { row: DomainGroupRow; isNew: boolean }; domain?: { row: DomainRow; isNew: boolean } }, wr: WorkRequestRow, message: string): void {
      db.transaction(() => {
        if (change.group) (change.group.isNew ? insertGroup : updateGroup).run(change.group.row);
        if (change.domain) (change.domain.isNew ? insertDomain : updateDomain).run(change.domain.row);
        insertWorkRequest.run(wr);
        log(wr.id, message, wr.time_accepted);
      })();
    },

    workRequest: (id: string) => workRequestById.get(id) as WorkRequestRow | undefined,
    /** The work request that created a resource (its first). */
    firstWorkRequestFor: (resourceId: string) => firstWorkRequestFor.get(resourceId) as WorkRequestRow | undefined,
    /** The unfinished work request on a resource, if any: one operation at a time per resource. */
    openWorkRequestFor: (resourceId: string) => openWorkRequestFor.get(resourceId) as WorkRequestRow | undefined,
    nextDueWorkRequest: (now: number) => nextDue.get(now) as WorkRequestRow | undefined,
    nextWorkRequestStep: () => (nextStep.get() as { at: number | null }).at,

    /** One step of a work request, with what it changes and its log line, in one transaction. */
    /**
     * One step of a work request, with what it changes and its log line, in one transaction.
     * A deleted domain takes its devices with it: every active instance is deleted and a
     * certificate that was its login is revoked. Returns those instances, whose live
     * sessions the caller closes after the commit.
     */
    step(
      wr: WorkRequestRow,
      message: string | ((deletedInstances: number) => string),
      change: { group?: DomainGroupRow; domain?: DomainRow; deleteInstances?: boolean; error?: { code: string; message: string } } = {},
    ): string[] {
      return db.transaction(() => {
        let deleted: string[] = [];
        if (change.deleteInstances && change.domain) deleted = deleteInstancesOf(change.domain.id, wr.time_updated);
        updateWorkRequest.run(wr);
        if (change.group) updateGroup.run(change.group);
        if (change.domain) updateDomain.run(change.domain);
        if (change.error) insertEntry.run(wr.id, 'error', change.error.code, change.error.message, wr.time_updated);
        log(wr.id, typeof message === 'string' ? message : message(deleted.length), wr.time_updated);
        return deleted;
      })();
    },

    listWorkRequests(f: WorkRequestListFilter): Page<WorkRequestRow> {
      const where = [`compartment_id IN (${f.compartments.map((_, i) => `@c${i}`).join(', ')})`];
      if (f.id !== undefined) where.push('id = @id');
      if (f.status !== undefined) where.push('status = @status');
      if (f.resourceId !== undefined) where.push('resource_id = @resourceId');
      const dir = f.sortOrder === 'ASC' ? 'ASC' : 'DESC';
      const sql = `SELECT * FROM work_requests WHERE ${where.join(' AND ')} ORDER BY time_accepted ${dir}, rowid ${dir} LIMIT @take OFFSET @offset`;
      const rows = cachedList(sql).all({ ...f, ...compartmentParams(f.compartments), take: f.limit + 1 }) as WorkRequestRow[];
      return page(rows, f.limit);
    },
    entries(workRequestId: string, kind: 'log' | 'error', sortOrder: 'ASC' | 'DESC', offset: number, limit: number): Page<WorkRequestEntryRow> {
      const rows = (sortOrder === 'ASC' ? entriesAsc : entriesDesc).all(workRequestId, kind, limit + 1, offset) as WorkRequestEntryRow[];
      return page(rows, limit);
    },
  };
}

export type ControlPlaneStore = ReturnType<typeof controlPlaneStore>;
