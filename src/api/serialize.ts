import type { DomainGroupRow, DomainRow, WorkRequestRow } from '../store/control-plane.js';
import type { InstanceRow } from '../store/instances.js';
import type { SecretRow } from '../store/secrets.js';
import type { AdapterRow, ModelRow, RelationshipRow } from '../store/twin-resources.js';

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
    ...tailBody(row),
  };
}

/** Lifecycle, tags and times: the fields every OCI resource model here ends with. */
function lifecycleTagsAndTimes(row: { lifecycle_state: string; freeform_tags: string; defined_tags: string; time_created: string; time_updated: string }) {
  return {
    lifecycleState: row.lifecycle_state,
    freeformTags: json(row.freeform_tags, {}),
    definedTags: json(row.defined_tags, {}),
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
    dbAllowListedIdentityGroupNames: json<string[]>(row.db_allow_listed_identity_group_names, []),
    dbAllowedIdentityDomainHost: row.db_allowed_identity_domain_host,
    dataRetentionPeriodsInDays: {
      rawData: row.retention_raw_data,
      rejectedData: row.retention_rejected_data,
      historizedData: row.retention_historized_data,
      rawCommandData: row.retention_raw_command_data,
    },
    ...lifecycleTagsAndTimes(row),
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
    dbAllowListedVcnIds: json<string[]>(row.db_allow_listed_vcn_ids, []),
    dbConnectionString: row.db_connection_string,
    dbTokenScope: row.db_token_scope,
    ...lifecycleTagsAndTimes(row),
  };
}

export function workRequestBody(row: WorkRequestRow) {
  const path = row.entity_type === 'iotDomain' ? 'iotDomains' : 'iotDomainGroups';
  return {
    operationType: row.operation_type,
    status: row.status,
    id: row.id,
    compartmentId: row.compartment_id,
    resources: [{ entityType: row.entity_type, actionType: row.action_type, identifier: row.resource_id, entityUri: `/20250531/${path}/${row.resource_id}` }],
    percentComplete: row.percent_complete,
    timeAccepted: row.time_accepted,
    timeStarted: row.time_started,
    timeFinished: row.time_finished,
    timeUpdated: row.time_updated,
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

/** A version of a secret as Secrets' bundles show it, with the stages it is in. */
export function secretBundleBody(secret: SecretRow, version: { version_number: number; content: string; time_created: string }, stages: string[]) {
  return {
    secretId: secret.id,
    versionNumber: version.version_number,
    versionName: null,
    secretBundleContent: { contentType: 'BASE64', content: version.content },
    stages,
    timeCreated: version.time_created,
  };
}

// ---- digital twin models, adapters and relationships ---------------------------------

/** Lifecycle, tags and times of a digital twin resource, whose rows keep system tags too. */
function tailBody(row: InstanceRow | ModelRow | AdapterRow | RelationshipRow) {
  return { ...lifecycleTagsAndTimes(row), systemTags: json(row.system_tags, {}) };
}

export const modelBody = (row: ModelRow) => ({
  id: row.id,
  iotDomainId: row.iot_domain_id,
  specUri: row.spec_uri,
  displayName: row.display_name,
  description: row.description,
  ...tailBody(row),
});

export const adapterBody = (row: AdapterRow) => ({
  id: row.id,
  iotDomainId: row.iot_domain_id,
  digitalTwinModelId: row.digital_twin_model_id,
  digitalTwinModelSpecUri: row.digital_twin_model_spec_uri,
  displayName: row.display_name,
  description: row.description,
  inboundEnvelope: json(row.inbound_envelope, {}),
  inboundRoutes: json(row.inbound_routes, []),
  ...tailBody(row),
});

export const relationshipBody = (row: RelationshipRow) => ({
  id: row.id,
  iotDomainId: row.iot_domain_id,
  displayName: row.display_name,
  description: row.description,
  contentPath: row.content_path,
  sourceDigitalTwinInstanceId: row.source_digital_twin_instance_id,
  targetDigitalTwinInstanceId: row.target_digital_twin_instance_id,
  content: json(row.content, null),
  ...tailBody(row),
});
