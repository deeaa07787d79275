/**
 * OCI operation names of the emulator's routes, so an API fault can name the call it
 * breaks the way the OCI SDKs, CLI and docs name it (`InvokeRawCommand`,
 * `CreateDigitalTwinInstance`). The table is OCI's own, as the official SDK clients declare
 * it (`operationName`, method, path; test/faults/operations.test.ts checks it against
 * oci-iot, oci-vault and oci-secrets), so routes that other parts add later are named too.
 */
const OCI_OPERATIONS: Readonly<Record<string, string>> = {
  'POST /20250531/iotDomains/{}/actions/changeCompartment': 'ChangeIotDomainCompartment',
  'POST /20250531/iotDomains/{}/actions/changeDataRetentionPeriod': 'ChangeIotDomainDataRetentionPeriod',
  'POST /20250531/iotDomainGroups/{}/actions/changeCompartment': 'ChangeIotDomainGroupCompartment',
  'POST /20250531/iotDomains/{}/actions/configureDataAccess': 'ConfigureIotDomainDataAccess',
  'POST /20250531/iotDomainGroups/{}/actions/configureDataAccess': 'ConfigureIotDomainGroupDataAccess',
  'POST /20250531/digitalTwinAdapters': 'CreateDigitalTwinAdapter',
  'POST /20250531/digitalTwinInstances': 'CreateDigitalTwinInstance',
  'POST /20250531/digitalTwinModels': 'CreateDigitalTwinModel',
  'POST /20250531/digitalTwinRelationships': 'CreateDigitalTwinRelationship',
  'POST /20250531/iotDomains': 'CreateIotDomain',
  'POST /20250531/iotDomainGroups': 'CreateIotDomainGroup',
  'DELETE /20250531/digitalTwinAdapters/{}': 'DeleteDigitalTwinAdapter',
  'DELETE /20250531/digitalTwinInstances/{}': 'DeleteDigitalTwinInstance',
  'DELETE /20250531/digitalTwinModels/{}': 'DeleteDigitalTwinModel',
  'DELETE /20250531/digitalTwinRelationships/{}': 'DeleteDigitalTwinRelationship',
  'DELETE /20250531/iotDomains/{}': 'DeleteIotDomain',
  'DELETE /20250531/iotDomainGroups/{}': 'DeleteIotDomainGroup',
  'GET /20250531/digitalTwinAdapters/{}': 'GetDigitalTwinAdapter',
  'GET /20250531/digitalTwinInstances/{}': 'GetDigitalTwinInstance',
  'GET /20250531/digitalTwinInstances/{}/content': 'GetDigitalTwinInstanceContent',
  'GET /20250531/digitalTwinModels/{}': 'GetDigitalTwinModel',
  'GET /20250531/digitalTwinModels/{}/spec': 'GetDigitalTwinModelSpec',
  'GET /20250531/digitalTwinRelationships/{}': 'GetDigitalTwinRelationship',
  'GET /20250531/iotDomains/{}': 'GetIotDomain',
  'GET /20250531/iotDomainGroups/{}': 'GetIotDomainGroup',
  'GET /20250531/workRequests/{}': 'GetWorkRequest',
  'POST /20250531/digitalTwinInstances/{}/actions/invokeRawCommand': 'InvokeRawCommand',
  'GET /20250531/digitalTwinAdapters': 'ListDigitalTwinAdapters',
  'GET /20250531/digitalTwinInstances': 'ListDigitalTwinInstances',
  'GET /20250531/digitalTwinModels': 'ListDigitalTwinModels',
  'GET /20250531/digitalTwinRelationships': 'ListDigitalTwinRelationships',
  'GET /20250531/iotDomainGroups': 'ListIotDomainGroups',
  'GET /20250531/iotDomains': 'ListIotDomains',
  'GET /20250531/workRequests/{}/errors': 'ListWorkRequestErrors',
  'GET /20250531/workRequests/{}/logs': 'ListWorkRequestLogs',
  'GET /20250531/workRequests': 'ListWorkRequests',
  'PUT /20250531/digitalTwinAdapters/{}': 'UpdateDigitalTwinAdapter',
  'PUT /20250531/digitalTwinInstances/{}': 'UpdateDigitalTwinInstance',
  'PUT /20250531/digitalTwinModels/{}': 'UpdateDigitalTwinModel',
  'PUT /20250531/digitalTwinRelationships/{}': 'UpdateDigitalTwinRelationship',
  'PUT /20250531/iotDomains/{}': 'UpdateIotDomain',
  'PUT /20250531/iotDomainGroups/{}': 'UpdateIotDomainGroup',
  'POST /20180608/secrets/{}/actions/cancelDeletion': 'CancelSecretDeletion',
  'POST /20180608/secrets/{}/actions/cancelRotation': 'CancelSecretRotation',
  'POST /20180608/secrets/{}/version/{}/actions/cancelDeletion': 'CancelSecretVersionDeletion',
  'POST /20180608/secrets/{}/actions/changeCompartment': 'ChangeSecretCompartment',
  'POST /20180608/secrets': 'CreateSecret',
  'GET /20180608/secrets/{}': 'GetSecret',
  'GET /20180608/secrets/{}/version/{}': 'GetSecretVersion',
  'GET /20180608/secrets/{}/versions': 'ListSecretVersions',
  'GET /20180608/secrets': 'ListSecrets',
  'POST /20180608/secrets/{}/actions/rotate': 'RotateSecret',
  'POST /20180608/secrets/{}/actions/scheduleDeletion': 'ScheduleSecretDeletion',
  'POST /20180608/secrets/{}/version/{}/actions/scheduleDeletion': 'ScheduleSecretVersionDeletion',
  'PUT /20180608/secrets/{}': 'UpdateSecret',
  'GET /20190301/secretbundles/{}': 'GetSecretBundle',
  'POST /20190301/secretbundles/actions/getByName': 'GetSecretBundleByName',
  'GET /20190301/secretbundles/{}/versions': 'ListSecretBundleVersions',
};

/** `GET /ords/{}/20250531/rawCommandData/{}` → GetRawCommandData: the data API is not an SDK operation, so it is named like one. */
function ordsOperation(method: string, path: string): string | undefined {
  const m = /^\/ords\/\{\}\/20250531\/(\w+)(\/\{\})?$/.exec(path);
  if (!m || method !== 'GET') return undefined;
  const name = m[1][0].toUpperCase() + m[1].slice(1);
  return m[2] ? `Get${name}` : `List${name}`;
}

/** A Fastify route pattern with its parameters blanked: `/a/:id/b` and `/a/{id}/b` both become `/a/{}/b`. */
export const routeKey = (method: string, url: string) => `${method.toUpperCase()} ${url.replace(/:[A-Za-z0-9_]+|\{[A-Za-z0-9_]+\}/g, '{}')}`;

/** The OCI operation a route serves, or undefined for the emulator's own routes (`/emulator/*`, the console, metrics). */
export function operationOf(method: string, url: string): string | undefined {
  const key = routeKey(method, url);
  return OCI_OPERATIONS[key] ?? ordsOperation(method.toUpperCase(), key.slice(key.indexOf(' ') + 1));
}

/** Every (method path → operation) pair OCI declares, for the conformance test. */
export const ociOperationTable = (): Readonly<Record<string, string>> => OCI_OPERATIONS;
