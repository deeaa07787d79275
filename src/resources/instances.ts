import { iso, type Clock } from '../clock/clock.js';
import { conflict, incorrectState, notFound, OciError, relatedNotFound } from '../errors.js';
import { base32, ocid } from '../ids.js';
import type { Store } from '../store/index.js';
import { etagOf, type InstanceRow } from '../store/instances.js';
import { instanceLinks } from './twins.js';

export interface InstanceFields {
  authId?: string;
  externalKey?: string;
  displayName?: string;
  description?: string;
  digitalTwinAdapterId?: string;
  digitalTwinModelId?: string;
  digitalTwinModelSpecUri?: string;
  gateways?: string[];
  freeformTags?: Record<string, string>;
  definedTags?: Record<string, Record<string, unknown>>;
}

export interface CreateInstanceDetails extends InstanceFields {
  iotDomainId: string;
  connectivityType?: string;
}

const related = relatedNotFound;

/** authId names either a Vault secret (password login) or a certificate the emulator issued (mTLS). */
function checkAuthId(store: Store, authId: string | undefined): void {
  if (authId === undefined) return;
  const secret = store.secrets.get(authId);
  if (secret?.lifecycle_state === 'ACTIVE') return;
  const cert = store.clientCertificates.get(authId);
  if (cert?.lifecycle_state === 'ACTIVE') return;
  if (cert) {
    throw new OciError(
      400,
      'RelatedResourceNotAuthorizedOrNotFound',
      `authId: certificate ${authId} was revoked at ${cert.time_revoked} (${cert.revocation_reason}); issue a new one`,
    );
  }
  throw related('authId: Vault secret or certificate', authId);
}

/** A certificate stops being a login the moment its instance lets go of it. */
function revokeReleasedCertificate(store: Store, before: InstanceRow, after: InstanceRow, reason: string): void {
  if (before.auth_id && (after.auth_id !== before.auth_id || after.lifecycle_state !== 'ACTIVE')) {
    store.clientCertificates.revoke(before.auth_id, after.time_updated, reason);
  }
}

/**
 * `gateways` names the GATEWAY instances an INDIRECT instance's commands travel through
 * (Oracle's node-red-gateway sample): each must be an active GATEWAY instance of the same
 * IoT domain, and only an INDIRECT instance has gateways.
 */
function checkGateways(store: Store, domainId: string, connectivityType: string, gateways: string[] | undefined): void {
  if (!gateways || gateways.length === 0) return;
  if (connectivityType !== 'INDIRECT') {
    throw new OciError(400, 'InvalidParameter', `gateways: only an INDIRECT instance has gateways; this one is ${connectivityType}`);
  }
  for (const id of gateways) {
    const gateway = store.instances.get(id);
    if (!gateway || gateway.lifecycle_state !== 'ACTIVE' || gateway.iot_domain_id !== domainId) {
      throw related('gateways: digital twin instance', id);
    }
    if (gateway.connectivity_type !== 'GATEWAY') {
      throw new OciError(400, 'InvalidParameter', `gateways: ${id} is a ${gateway.connectivity_type} instance, not a GATEWAY`);
    }
  }
}

function checkExternalKeyFree(store: Store, domainId: string, externalKey: string, self?: string): void {
  const holder = store.instances.activeByExternalKey(domainId, externalKey);
  if (holder && holder.id !== self) {
    throw conflict(`externalKey "${externalKey}" is already used by digital twin instance ${holder.id} in this IoT domain`);
  }
}

export function createInstance(store: Store, clock: Clock, region: string, d: CreateInstanceDetails): InstanceRow {
  return store.atomically(() => {
    const domain = store.controlPlane.domain(d.iotDomainId);
    if (!domain || domain.lifecycle_state === 'DELETED') throw related('iotDomainId: IoT domain', d.iotDomainId);
    if (domain.lifecycle_state !== 'ACTIVE' && domain.lifecycle_state !== 'UPDATING') {
      throw incorrectState(`IoT domain ${domain.id} is ${domain.lifecycle_state}; instances can be created once it is ACTIVE`);
    }
    checkAuthId(store, d.authId);
    checkGateways(store, d.iotDomainId, d.connectivityType ?? 'DIRECT', d.gateways);
    const externalKey = d.externalKey ?? base32(24);
    checkExternalKeyFree(store, d.iotDomainId, externalKey);
    const links = instanceLinks(store, d.iotDomainId, d);
    const now = iso(clock.now());
    const row: InstanceRow = {
      id: ocid('iotdigitaltwininstance', region),
      iot_domain_id: d.iotDomainId,
      connectivity_type: d.connectivityType ?? 'DIRECT',
      auth_id: d.authId ?? null,
      external_key: externalKey,
      display_name: d.displayName ?? externalKey,
      description: d.description ?? null,
      digital_twin_model_id: links.modelId,
      digital_twin_model_spec_uri: links.specUri,
      digital_twin_adapter_id: links.adapterId,
      gateways: d.gateways ? JSON.stringify(d.gateways) : null,
      freeform_tags: JSON.stringify(d.freeformTags ?? {}),
      defined_tags: JSON.stringify(d.definedTags ?? {}),
      system_tags: '{}',
      lifecycle_state: 'ACTIVE',
      time_created: now,
      time_updated: now,
      revision: 1,
    };
    store.instances.insert(row);
    return row;
  });
}

/** An instance that can still be changed or commanded; a deleted one is treated as not found. */
export function activeInstance(store: Store, id: string): InstanceRow {
  const row = store.instances.get(id);
  if (!row || row.lifecycle_state !== 'ACTIVE') throw notFound('Digital twin instance', id);
  return row;
}

/** if-match against a resource's etag (any row with an id and a revision); `*` matches any. */
export function checkEtag(row: Pick<InstanceRow, 'id' | 'revision'>, ifMatch: string | undefined): void {
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(row)) {
    throw new OciError(412, 'NoEtagMatch', `if-match ${ifMatch} does not match the current etag of ${row.id}`);
  }
}

/**
 * Applies an update. Returns the new row and whether the device's credentials changed,
 * in which case its live MQTT session must be closed.
 */
export function updateInstanceFields(
  store: Store,
  clock: Clock,
  id: string,
  d: InstanceFields,
  ifMatch: string | undefined,
): { row: InstanceRow; credentialsChanged: boolean } {
  return store.atomically(() => {
    const row = activeInstance(store, id);
    checkEtag(row, ifMatch);
    checkAuthId(store, d.authId);
    checkGateways(store, row.iot_domain_id, row.connectivity_type, d.gateways);
    if (d.externalKey !== undefined) checkExternalKeyFree(store, row.iot_domain_id, d.externalKey, row.id);
    const twinChanged = d.digitalTwinAdapterId !== undefined || d.digitalTwinModelId !== undefined || d.digitalTwinModelSpecUri !== undefined;
    const links = twinChanged
      ? instanceLinks(store, row.iot_domain_id, {
          digitalTwinAdapterId: d.digitalTwinAdapterId ?? row.digital_twin_adapter_id,
          // A new adapter alone brings its own model.
          digitalTwinModelId: d.digitalTwinModelId ?? (d.digitalTwinAdapterId !== undefined ? undefined : row.digital_twin_model_id),
          digitalTwinModelSpecUri: d.digitalTwinModelSpecUri ?? (d.digitalTwinAdapterId !== undefined || d.digitalTwinModelId !== undefined ? undefined : row.digital_twin_model_spec_uri),
        })
      : { adapterId: row.digital_twin_adapter_id, modelId: row.digital_twin_model_id, specUri: row.digital_twin_model_spec_uri };
    const next: InstanceRow = {
      ...row,
      auth_id: d.authId ?? row.auth_id,
      external_key: d.externalKey ?? row.external_key,
      display_name: d.displayName ?? row.display_name,
      description: d.description ?? row.description,
      digital_twin_adapter_id: links.adapterId,
      digital_twin_model_id: links.modelId,
      digital_twin_model_spec_uri: links.specUri,
      gateways: d.gateways ? JSON.stringify(d.gateways) : row.gateways,
      freeform_tags: d.freeformTags ? JSON.stringify(d.freeformTags) : row.freeform_tags,
      defined_tags: d.definedTags ? JSON.stringify(d.definedTags) : row.defined_tags,
      time_updated: iso(clock.now()),
    };
    const credentialsChanged = next.auth_id !== row.auth_id || next.external_key !== row.external_key;
    revokeReleasedCertificate(store, row, next, `authId of ${row.id} changed`);
    return { row: store.instances.update(next), credentialsChanged };
  });
}

export function deleteInstance(store: Store, clock: Clock, id: string, ifMatch: string | undefined): InstanceRow {
  return store.atomically(() => {
    const row = activeInstance(store, id);
    checkEtag(row, ifMatch);
    const deleted: InstanceRow = { ...row, lifecycle_state: 'DELETED', time_updated: iso(clock.now()) };
    revokeReleasedCertificate(store, row, deleted, `${row.id} deleted`);
    return store.instances.update(deleted);
  });
}
