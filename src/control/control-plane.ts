import { iso, type Clock } from '../clock/clock.js';
import { createScheduler } from '../clock/scheduler.js';
import { incorrectState, invalid, notFound, relatedNotFound } from '../errors.js';
import { base32, ocid } from '../ids.js';
import { checkEtag } from '../resources/instances.js';
import { EMULATOR_COMPARTMENT, type DomainGroupRow, type DomainRow, type EntityType, type OperationType, type WorkRequestRow } from '../store/control-plane.js';
import type { Store } from '../store/index.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { RetentionDataType } from '../store/retention.js';
import { dataHostOf, dbConnectionStringOf, deviceHostOf, domainResolver } from './hosts.js';
import { createRetentionPurge, RETENTION_COLUMN } from './retention.js';

export type Tags = { freeformTags?: Record<string, string>; definedTags?: Record<string, Record<string, unknown>> };
export type GroupType = 'PRODUCTION' | 'DEVELOPMENT' | 'STANDARD' | 'LIGHTWEIGHT';

export interface CreateGroupDetails extends Tags {
  compartmentId: string;
  type?: GroupType;
  displayName?: string;
  description?: string;
}
export interface CreateDomainDetails extends Tags {
  iotDomainGroupId: string;
  compartmentId: string;
  displayName?: string;
  description?: string;
}
export interface UpdateDetails extends Tags {
  displayName?: string;
  description?: string;
}
export type RetentionType = RetentionDataType;
export interface RetentionDetails {
  type: RetentionType;
  dataRetentionPeriodInDays: number;
}
export type DomainDataAccess =
  | { type: 'DIRECT'; dbAllowListedIdentityGroupNames: string[] }
  | { type: 'ORDS'; dbAllowedIdentityDomainHost: string }
  | { type: 'APEX'; dbWorkspaceAdminInitialPassword: string };

/** Where each data type's retention is kept (OCI's defaults: 16 days, historized 30). */
export const RETENTION = RETENTION_COLUMN;
/** OCI publishes no upper bound; ten years keeps every cut-off an exact, representable time. */
export const MAX_RETENTION_DAYS = 3650;

/** The resource state while a work request changes it, and the action it ends with. */
const OPERATIONS: Record<OperationType, { entity: EntityType; during: string; done: string; verb: string }> = {
  CREATE_IOT_DOMAIN_GROUP: { entity: 'iotDomainGroup', during: 'CREATING', done: 'CREATED', verb: 'Create IoT domain group' },
  UPDATE_IOT_DOMAIN_GROUP: { entity: 'iotDomainGroup', during: 'UPDATING', done: 'UPDATED', verb: 'Update IoT domain group' },
  DELETE_IOT_DOMAIN_GROUP: { entity: 'iotDomainGroup', during: 'DELETING', done: 'DELETED', verb: 'Delete IoT domain group' },
  MOVE_IOT_DOMAIN_GROUP: { entity: 'iotDomainGroup', during: 'UPDATING', done: 'UPDATED', verb: 'Move IoT domain group' },
  CONFIGURE_DOMAIN_GROUP_DATA_ACCESS: { entity: 'iotDomainGroup', during: 'UPDATING', done: 'UPDATED', verb: 'Configure IoT domain group data access' },
  CREATE_IOT_DOMAIN: { entity: 'iotDomain', during: 'CREATING', done: 'CREATED', verb: 'Create IoT domain' },
  UPDATE_IOT_DOMAIN: { entity: 'iotDomain', during: 'UPDATING', done: 'UPDATED', verb: 'Update IoT domain' },
  DELETE_IOT_DOMAIN: { entity: 'iotDomain', during: 'DELETING', done: 'DELETED', verb: 'Delete IoT domain' },
  MOVE_IOT_DOMAIN: { entity: 'iotDomain', during: 'UPDATING', done: 'UPDATED', verb: 'Move IoT domain' },
  CONFIGURE_DOMAIN_DATA_ACCESS: { entity: 'iotDomain', during: 'UPDATING', done: 'UPDATED', verb: 'Configure IoT domain data access' },
  CHANGE_IOT_DOMAIN_DATA_RETENTION: { entity: 'iotDomain', during: 'UPDATING', done: 'UPDATED', verb: 'Change IoT domain data retention' },
};

export interface ControlPlaneOptions {
  store: Pick<Store, 'controlPlane' | 'retention'>;
  clock: Clock;
  region: string;
  /** New domains get `<shortId>.device.<suffix>`, new groups `<shortId>.data.<suffix>`. */
  hostSuffix: string;
  /** How long a work request takes from ACCEPTED to SUCCEEDED, on the emulator's clock. */
  workRequestMs: number;
  /** Told after the commit that deleted a domain, with the instances deleted with it. */
  onDomainDeleted?(domainId: string, instanceIds: string[]): void;
  /** Retention purge pacing (defaults: every minute of clock time, 500 rows a batch). */
  purge?: { intervalMs?: number; batchSize?: number; onError?(err: unknown): void; onPassed?(): void };
  /** On a full or failing disk, due work request steps are taken later instead of ending the process. */
  storage?: Pick<StorageHealth, 'guardTimer'>;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

/**
 * Domain groups and domains as OCI resources. Every change is accepted at once
 * (CREATING / UPDATING / DELETING, a work request ACCEPTED) and finished by one scheduler
 * on the emulator's clock: IN_PROGRESS half way, then the change applied and SUCCEEDED.
 * The manual clock steps through it; the system clock finishes within `workRequestMs`.
 */
export function createControlPlane(opts: ControlPlaneOptions) {
  const { clock } = opts;
  const store = opts.store.controlPlane;
  const purge = createRetentionPurge({ store: opts.store.retention, clock, domains: () => store.allDomains(), ...opts.purge });
  const listeners = new Set<(wr: WorkRequestRow) => void>();
  const told = (wr: WorkRequestRow) => {
    for (const l of listeners) l(wr);
  };

  /** A compartment's resources, plus those the emulator made itself, which every compartment sees. */
  const visibleFrom = (compartmentId: string) => [...new Set([compartmentId, EMULATOR_COMPARTMENT])];

  function liveGroup(id: string): DomainGroupRow {
    const g = store.group(id);
    if (!g || g.lifecycle_state === 'DELETED') throw notFound('IoT domain group', id);
    return g;
  }
  function liveDomain(id: string): DomainRow {
    const d = store.domain(id);
    if (!d || d.lifecycle_state === 'DELETED') throw notFound('IoT domain', id);
    return d;
  }
  /** One operation at a time per resource, as OCI: the next waits for the work request to finish. */
  function settled(row: { id: string; lifecycle_state: string }, what: string): void {
    const open = store.openWorkRequestFor(row.id);
    if (open) throw incorrectState(`${what} ${row.id} is ${row.lifecycle_state}: work request ${open.id} (${open.operation_type}) has not finished`);
    if (row.lifecycle_state !== 'ACTIVE' && row.lifecycle_state !== 'FAILED') throw incorrectState(`${what} ${row.id} is ${row.lifecycle_state}`);
  }
  /** Domain operations need their group ACTIVE (OCI's "Operation Dependencies"). */
  function groupActiveFor(domain: { iot_domain_group_id: string }): void {
    const g = store.group(domain.iot_domain_group_id);
    if (!g || g.lifecycle_state !== 'ACTIVE') {
      throw incorrectState(`IoT domain group ${domain.iot_domain_group_id} is ${g?.lifecycle_state ?? 'missing'}; it must be ACTIVE`);
    }
  }

  function newWorkRequest(op: OperationType, resource: { id: string; compartment_id: string }, payload: unknown): WorkRequestRow {
    const now = clock.now();
    return {
      id: ocid('iotworkrequest', opts.region),
      operation_type: op,
      status: 'ACCEPTED',
      compartment_id: resource.compartment_id,
      resource_id: resource.id,
      entity_type: OPERATIONS[op].entity,
      action_type: 'IN_PROGRESS',
      percent_complete: 0,
      payload: JSON.stringify(payload ?? {}),
      accepted_at_ms: now,
      next_step_ms: now + Math.floor(opts.workRequestMs / 2),
      time_accepted: iso(now),
      time_started: null,
      time_finished: null,
      time_updated: iso(now),
    };
  }

  /** Puts a resource into its in-between state and records the work request that will finish it. */
  function begin<R extends DomainGroupRow | DomainRow>(op: OperationType, row: R, isNew: boolean, payload?: unknown): WorkRequestRow {
    const wr = newWorkRequest(op, row, payload);
    const changed = { ...row, lifecycle_state: OPERATIONS[op].during, time_updated: wr.time_accepted, revision: isNew ? row.revision : row.revision + 1 };
    const change = OPERATIONS[op].entity === 'iotDomain' ? { domain: { row: changed as DomainRow, isNew } } : { group: { row: changed as DomainGroupRow, isNew } };
    store.accept(change, wr, `${OPERATIONS[op].verb} ${row.id}: accepted`);
    scheduler.reschedule();
    told(wr);
    return wr;
  }

  const tagsOf = (t: Tags) => ({ freeform_tags: JSON.stringify(t.freeformTags ?? {}), defined_tags: JSON.stringify(t.definedTags ?? {}) });

  function uniqueShortId(): string {
    for (;;) {
      const candidate = base32(12);
      if (!store.shortIdTaken(candidate)) return candidate;
    }
  }

  // ---- finishing a work request -------------------------------------------------------

  function finish(wr: WorkRequestRow, at: number): void {
    const time = iso(at);
    const spec = OPERATIONS[wr.operation_type];
    const done: WorkRequestRow = { ...wr, status: 'SUCCEEDED', percent_complete: 100, action_type: spec.done, next_step_ms: null, time_finished: time, time_updated: time };
    if (spec.entity === 'iotDomainGroup') {
      const g = store.group(wr.resource_id)!;
      const next: DomainGroupRow = { ...g, ...applyToGroup(wr, g), time_updated: time, revision: g.revision + 1 };
      store.step(done, `${spec.verb} ${wr.resource_id}: succeeded`, { group: next });
    } else {
      const d = store.domain(wr.resource_id)!;
      const next: DomainRow = { ...d, ...applyToDomain(wr, d), time_updated: time, revision: d.revision + 1 };
      const deleting = wr.operation_type === 'DELETE_IOT_DOMAIN';
      const deleted = store.step(
        done,
        (n) => `${spec.verb} ${wr.resource_id}: succeeded${n ? `; its ${n} digital twin instance(s) deleted with it` : ''}`,
        { domain: next, deleteInstances: deleting },
      );
      if (deleting) opts.onDomainDeleted?.(d.id, deleted);
    }
    told(done);
  }

  function applyToGroup(wr: WorkRequestRow, g: DomainGroupRow): Partial<DomainGroupRow> {
    const p = json<Record<string, unknown>>(wr.payload);
    switch (wr.operation_type) {
      case 'DELETE_IOT_DOMAIN_GROUP':
        return { lifecycle_state: 'DELETED' };
      case 'UPDATE_IOT_DOMAIN_GROUP':
        return { lifecycle_state: 'ACTIVE', ...updatedFields(p as UpdateDetails, g) };
      case 'MOVE_IOT_DOMAIN_GROUP':
        return { lifecycle_state: 'ACTIVE', compartment_id: String(p.compartmentId) };
      case 'CONFIGURE_DOMAIN_GROUP_DATA_ACCESS':
        return { lifecycle_state: 'ACTIVE', db_allow_listed_vcn_ids: JSON.stringify(p.dbAllowListedVcnIds) };
      default:
        return { lifecycle_state: 'ACTIVE' };
    }
  }

  function applyToDomain(wr: WorkRequestRow, d: DomainRow): Partial<DomainRow> {
    const p = json<Record<string, unknown>>(wr.payload);
    switch (wr.operation_type) {
      case 'DELETE_IOT_DOMAIN':
        return { lifecycle_state: 'DELETED' };
      case 'UPDATE_IOT_DOMAIN':
        return { lifecycle_state: 'ACTIVE', ...updatedFields(p as UpdateDetails, d) };
      case 'MOVE_IOT_DOMAIN':
        return { lifecycle_state: 'ACTIVE', compartment_id: String(p.compartmentId) };
      case 'CHANGE_IOT_DOMAIN_DATA_RETENTION': {
        const r = p as unknown as RetentionDetails;
        return { lifecycle_state: 'ACTIVE', [RETENTION[r.type]]: r.dataRetentionPeriodInDays };
      }
      case 'CONFIGURE_DOMAIN_DATA_ACCESS': {
        const a = p as unknown as DomainDataAccess;
        if (a.type === 'DIRECT') return { lifecycle_state: 'ACTIVE', db_allow_listed_identity_group_names: JSON.stringify(a.dbAllowListedIdentityGroupNames) };
        if (a.type === 'ORDS') return { lifecycle_state: 'ACTIVE', db_allowed_identity_domain_host: a.dbAllowedIdentityDomainHost };
        return { lifecycle_state: 'ACTIVE', apex_workspace_configured: 1 };
      }
      default:
        return { lifecycle_state: 'ACTIVE' };
    }
  }

  function updatedFields(u: UpdateDetails, row: { display_name: string; description: string | null; freeform_tags: string; defined_tags: string }) {
    return {
      display_name: u.displayName ?? row.display_name,
      description: u.description ?? row.description,
      freeform_tags: u.freeformTags ? JSON.stringify(u.freeformTags) : row.freeform_tags,
      defined_tags: u.definedTags ? JSON.stringify(u.definedTags) : row.defined_tags,
    };
  }

  /** Moves every work request whose next step is due, in time order, stamping each step with its own time. */
  function fireDue(now: number): void {
    for (let wr = store.nextDueWorkRequest(now); wr; wr = store.nextDueWorkRequest(now)) {
      const at = wr.next_step_ms!;
      if (wr.status === 'ACCEPTED') startStep(wr, at, wr.accepted_at_ms + opts.workRequestMs);
      else finish(wr, at);
    }
    purge.fireDue(now);
  }

  /** ACCEPTED to IN_PROGRESS at `at`; the next step (the finish) is due at `finishAt`. */
  function startStep(wr: WorkRequestRow, at: number, finishAt: number): WorkRequestRow {
    const started: WorkRequestRow = {
      ...wr,
      status: 'IN_PROGRESS',
      percent_complete: 50,
      time_started: iso(at),
      time_updated: iso(at),
      next_step_ms: finishAt,
    };
    store.step(started, `${OPERATIONS[wr.operation_type].verb} ${wr.resource_id}: in progress`);
    told(started);
    return started;
  }

  const timerHooks = {
    nextDeadline() {
      const a = store.nextWorkRequestStep();
      const b = purge.nextDeadline();
      return a === null ? b : b === null ? a : Math.min(a, b);
    },
    fireDue,
  };
  const scheduler = createScheduler(clock, opts.storage ? opts.storage.guardTimer('work requests', timerHooks) : timerHooks);

  purge.onRescheduled(() => scheduler.reschedule());

  const checkRetention = (d: DomainRow, r: RetentionDetails) => {
    const current = d[RETENTION[r.type]];
    if (r.dataRetentionPeriodInDays < current) {
      throw invalid(`dataRetentionPeriodInDays ${r.dataRetentionPeriodInDays} is less than the current ${r.type} retention of ${current} days; a retention period can only be increased`);
    }
    if (r.dataRetentionPeriodInDays > MAX_RETENTION_DAYS) throw invalid(`dataRetentionPeriodInDays must be at most ${MAX_RETENTION_DAYS}`);
  };

  return {
    store,
    domainForServername: domainResolver(store),
    visibleFrom,
    /** Settles what became due while the emulator was down, then arms the timer. */
    start(): void {
      fireDue(clock.now());
      scheduler.reschedule();
    },
    /** The retention purge: `settled()` waits for a pass the clock started. */
    purge,
    stop: () => scheduler.stop(),
    /** Every work request change, after its commit; returns a function that stops listening. */
    onWorkRequest(listener: (wr: WorkRequestRow) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },

    // ---- domain groups ----
    createGroup(d: CreateGroupDetails): { row: DomainGroupRow; wr: WorkRequestRow } {
      const now = iso(clock.now());
      const short = base32(12);
      const row: DomainGroupRow = {
        id: ocid('iotdomaingroup', opts.region),
        compartment_id: d.compartmentId,
        display_name: d.displayName ?? `iot-domain-group-${short.slice(0, 6)}`,
        description: d.description ?? null,
        // OCI's console makes Development the default type.
        type: d.type ?? 'DEVELOPMENT',
        data_host: dataHostOf(short, opts.hostSuffix),
        db_connection_string: dbConnectionStringOf(short, opts.region),
        db_token_scope: `urn:oracle:db::id::${short}`,
        lifecycle_state: 'CREATING',
        time_created: now,
        time_updated: now,
        db_allow_listed_vcn_ids: '[]',
        ...tagsOf(d),
        revision: 1,
      };
      const wr = begin('CREATE_IOT_DOMAIN_GROUP', row, true);
      return { row: store.group(row.id)!, wr };
    },
    updateGroup(id: string, d: UpdateDetails, ifMatch?: string): WorkRequestRow {
      const g = liveGroup(id);
      checkEtag(g, ifMatch);
      settled(g, 'IoT domain group');
      domainsSettled(g.id);
      return begin('UPDATE_IOT_DOMAIN_GROUP', g, false, d);
    },
    deleteGroup(id: string, ifMatch?: string): WorkRequestRow {
      const g = liveGroup(id);
      checkEtag(g, ifMatch);
      settled(g, 'IoT domain group');
      const alive = store.domainsOfGroup(g.id).filter((dom) => dom.lifecycle_state !== 'DELETED');
      if (alive.length) {
        throw incorrectState(`IoT domain group ${g.id} still has ${alive.length} IoT domain(s) (${alive.map((a) => a.id).join(', ')}); delete them and wait for their work requests first`);
      }
      return begin('DELETE_IOT_DOMAIN_GROUP', g, false);
    },
    changeGroupCompartment(id: string, compartmentId: string, ifMatch?: string): WorkRequestRow {
      const g = liveGroup(id);
      checkEtag(g, ifMatch);
      settled(g, 'IoT domain group');
      return begin('MOVE_IOT_DOMAIN_GROUP', g, false, { compartmentId });
    },
    configureGroupDataAccess(id: string, vcnIds: string[], ifMatch?: string): WorkRequestRow {
      const g = liveGroup(id);
      checkEtag(g, ifMatch);
      settled(g, 'IoT domain group');
      domainsSettled(g.id);
      return begin('CONFIGURE_DOMAIN_GROUP_DATA_ACCESS', g, false, { dbAllowListedVcnIds: vcnIds });
    },

    // ---- domains ----
    createDomain(d: CreateDomainDetails): { row: DomainRow; wr: WorkRequestRow } {
      const g = store.group(d.iotDomainGroupId);
      if (!g || g.lifecycle_state === 'DELETED') throw relatedNotFound('iotDomainGroupId: IoT domain group', d.iotDomainGroupId);
      if (g.lifecycle_state !== 'ACTIVE') throw incorrectState(`IoT domain group ${g.id} is ${g.lifecycle_state}; domains can be created once it is ACTIVE`);
      const now = iso(clock.now());
      const short = uniqueShortId();
      const row: DomainRow = {
        id: ocid('iotdomain', opts.region),
        iot_domain_group_id: g.id,
        compartment_id: d.compartmentId,
        display_name: d.displayName ?? `iot-domain-${short.slice(0, 6)}`,
        description: d.description ?? null,
        short_id: short,
        device_host: deviceHostOf(short, opts.hostSuffix),
        lifecycle_state: 'CREATING',
        time_created: now,
        time_updated: now,
        db_allow_listed_identity_group_names: '[]',
        db_allowed_identity_domain_host: null,
        apex_workspace_configured: 0,
        retention_raw_data: 16,
        retention_rejected_data: 16,
        retention_historized_data: 30,
        retention_raw_command_data: 16,
        ...tagsOf(d),
        revision: 1,
      };
      const wr = begin('CREATE_IOT_DOMAIN', row, true);
      return { row: store.domain(row.id)!, wr };
    },
    updateDomain(id: string, d: UpdateDetails, ifMatch?: string): WorkRequestRow {
      const dom = domainToChange(id, ifMatch);
      return begin('UPDATE_IOT_DOMAIN', dom, false, d);
    },
    deleteDomain(id: string, ifMatch?: string): WorkRequestRow {
      const dom = domainToChange(id, ifMatch);
      return begin('DELETE_IOT_DOMAIN', dom, false);
    },
    changeDomainCompartment(id: string, compartmentId: string, ifMatch?: string): WorkRequestRow {
      const dom = domainToChange(id, ifMatch);
      return begin('MOVE_IOT_DOMAIN', dom, false, { compartmentId });
    },
    changeRetention(id: string, r: RetentionDetails, ifMatch?: string): WorkRequestRow {
      const dom = domainToChange(id, ifMatch);
      checkRetention(dom, r);
      return begin('CHANGE_IOT_DOMAIN_DATA_RETENTION', dom, false, r);
    },
    configureDomainDataAccess(id: string, a: DomainDataAccess, ifMatch?: string): WorkRequestRow {
      const dom = domainToChange(id, ifMatch);
      // The APEX password is handed to the database and never shown again; it is not kept.
      const payload = a.type === 'APEX' ? { type: 'APEX' } : a;
      return begin('CONFIGURE_DOMAIN_DATA_ACCESS', dom, false, payload);
    },

    /**
     * Runs a work request's steps now instead of at their times on the clock: a seed file's
     * domain group is ACTIVE before its domains are created, and they before their devices.
     */
    finishNow(id: string): WorkRequestRow {
      const at = clock.now();
      let wr = store.workRequest(id);
      if (!wr) throw notFound('Work request', id);
      if (wr.status === 'ACCEPTED') wr = startStep(wr, at, at);
      if (wr.status === 'IN_PROGRESS') finish(wr, at);
      scheduler.reschedule();
      return store.workRequest(id)!;
    },

    workRequest(id: string): WorkRequestRow {
      const wr = store.workRequest(id);
      if (!wr) throw notFound('Work request', id);
      return wr;
    },
  };

  function domainToChange(id: string, ifMatch: string | undefined): DomainRow {
    const dom = liveDomain(id);
    checkEtag(dom, ifMatch);
    settled(dom, 'IoT domain');
    groupActiveFor(dom);
    return dom;
  }

  /** Group updates wait for their domains: each must be ACTIVE or FAILED (or gone). */
  function domainsSettled(groupId: string): void {
    const busy = store.domainsOfGroup(groupId).filter((d) => !['ACTIVE', 'FAILED', 'DELETED'].includes(d.lifecycle_state));
    if (busy.length) throw incorrectState(`IoT domain ${busy[0].id} of this group is ${busy[0].lifecycle_state}; wait for its work request to finish`);
  }
}

export type ControlPlane = ReturnType<typeof createControlPlane>;
