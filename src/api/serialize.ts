import type { DomainGroupRow, DomainRow } from '../store/domains.js';
import type { InstanceRow } from '../store/instances.js';
import type { SecretRow } from '../store/secrets.js';

const json = <T>(text: string | null, fallback: T): T => (text ? (JSON.parse(text) as T) : fallback);

export function instanceBody(row: InstanceRow) {
  return {
    id: row.id,
    iotDomainId: row.iot_domain_id,
    connectivityType: row.connectivity_type,
    authId: row.auth_id,
    externalKey: row.external_key,
    displayName: row.display_name,
    description: row.description,
    digitalTwinModelId: row.digital_twin_model_id,
    digitalTwinModelSpecUri: row.digital_twin_model_spec_uri,
    digitalTwinAdapterId: row.digital_twin_adapter_id,
    gateways: json<string[] | null>(row.gateways, null),
    lifecycleState: row.lifecycle_state,
    freeformTags: json(row.freeform_tags, {}),
    definedTags: json(row.defined_tags, {}),
    systemTags: json(row.system_tags, {}),
    timeCreated: row.time_created,
    timeUpdated: row.time_updated,
  };
}

/** Lifecycle and times of a resource the emulator creates itself, which carries no tags. */
function untaggedResource(row: { lifecycle_state: string; time_created: string; time_updated: string }) {
  return {
    lifecycleState: row.lifecycle_state,
    freeformTags: {},
    definedTags: {},
    systemTags: {},
    timeCreated: row.time_created,
    timeUpdated: row.time_updated,
  };
}

export function domainBody(row: DomainRow) {
  return {
    id: row.id,
    iotDomainGroupId: row.iot_domain_group_id,
    compartmentId: row.compartment_id,
    displayName: row.display_name,
    description: row.description,
    deviceHost: row.device_host,
    dbAllowListedIdentityGroupNames: [],
    dbAllowedIdentityDomainHost: null,
    dataRetentionPeriodsInDays: { rawData: 16, rejectedData: 16, historizedData: 30, rawCommandData: 16 },
    ...untaggedResource(row),
  };
}

export function domainGroupBody(row: DomainGroupRow) {
  return {
    id: row.id,
    compartmentId: row.compartment_id,
    displayName: row.display_name,
    description: row.description,
    type: row.type,
    dataHost: row.data_host,
    dbConnectionString: row.db_connection_string,
    dbTokenScope: row.db_token_scope,
    ...untaggedResource(row),
  };
}

export function secretBody(row: SecretRow) {
  return {
    id: row.id,
    compartmentId: row.compartment_id,
    vaultId: row.vault_id,
    keyId: row.key_id,
    secretName: row.secret_name,
    description: row.description,
    currentVersionNumber: row.version_number,
    lifecycleState: row.lifecycle_state,
    freeformTags: json(row.freeform_tags, {}),
    definedTags: json(row.defined_tags, {}),
    secretRules: [],
    timeCreated: row.time_created,
  };
}

export function secretBundleBody(row: SecretRow) {
  return {
    secretId: row.id,
    versionNumber: row.version_number,
    versionName: null,
    secretBundleContent: { contentType: 'BASE64', content: row.content },
    stages: ['CURRENT', 'LATEST'],
    timeCreated: row.time_created,
  };
}
