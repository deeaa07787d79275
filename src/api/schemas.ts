/**
 * JSON Schemas for the REST API: request validation and response serialization share
 * them, and an OpenAPI description can be generated from them.
 */
const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const definedTags = { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } } as const;

/** The fields every OCI resource model here ends with. */
const lifecycleTagsAndTimes = {
  lifecycleState: str,
  freeformTags: stringMap,
  definedTags,
  systemTags: definedTags,
  timeCreated: str,
  timeUpdated: str,
} as const;

export const errorBody = {
  type: 'object',
  properties: { code: str, message: str },
  required: ['code', 'message'],
} as const;

export const digitalTwinInstance = {
  type: 'object',
  properties: {
    id: str,
    iotDomainId: str,
    connectivityType: str,
    authId: nullableStr,
    externalKey: str,
    displayName: str,
    description: nullableStr,
    digitalTwinModelId: nullableStr,
    digitalTwinModelSpecUri: nullableStr,
    digitalTwinAdapterId: nullableStr,
    gateways: { type: ['array', 'null'], items: str },
    ...lifecycleTagsAndTimes,
  },
} as const;

export const connectivityTypes = ['DIRECT', 'INDIRECT', 'GATEWAY', 'NONE'] as const;

const instanceWritable = {
  authId: { type: 'string', minLength: 1, maxLength: 255 },
  externalKey: { type: 'string', minLength: 1, maxLength: 255 },
  displayName: { type: 'string', minLength: 1, maxLength: 255 },
  description: { type: 'string', maxLength: 400 },
  digitalTwinAdapterId: { type: 'string', minLength: 1, maxLength: 255 },
  digitalTwinModelId: { type: 'string', minLength: 1, maxLength: 255 },
  digitalTwinModelSpecUri: { type: 'string', minLength: 1, maxLength: 255 },
  gateways: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 100 },
  freeformTags: stringMap,
  definedTags,
} as const;

export const createInstanceBody = {
  type: 'object',
  required: ['iotDomainId'],
  properties: {
    iotDomainId: { type: 'string', minLength: 1 },
    connectivityType: { type: 'string', enum: connectivityTypes },
    ...instanceWritable,
  },
} as const;

export const updateInstanceBody = {
  type: 'object',
  properties: instanceWritable,
} as const;

export const iotDomain = {
  type: 'object',
  properties: {
    id: str,
    iotDomainGroupId: str,
    compartmentId: str,
    displayName: str,
    description: nullableStr,
    deviceHost: str,
    dbAllowListedIdentityGroupNames: { type: 'array', items: str },
    dbAllowedIdentityDomainHost: nullableStr,
    dataRetentionPeriodsInDays: {
      type: 'object',
      properties: {
        rawData: { type: 'integer' },
        rejectedData: { type: 'integer' },
        historizedData: { type: 'integer' },
        rawCommandData: { type: 'integer' },
      },
    },
    ...lifecycleTagsAndTimes,
  },
} as const;

export const iotDomainGroup = {
  type: 'object',
  properties: {
    id: str,
    compartmentId: str,
    displayName: str,
    description: nullableStr,
    type: str,
    dataHost: str,
    dbAllowListedVcnIds: { type: 'array', items: str },
    dbConnectionString: nullableStr,
    dbTokenScope: nullableStr,
    ...lifecycleTagsAndTimes,
  },
} as const;

/**
 * List operations answer with OCI's *Summary models, which leave out the details a GET
 * gives (deviceHost, data retention, the database connection); serialization drops them.
 */
const pick = <T extends { properties: Record<string, unknown> }>(schema: T, keys: readonly (keyof T['properties'])[]) =>
  ({ type: 'object', properties: Object.fromEntries(keys.map((k) => [k, schema.properties[k as string]])) }) as const;

const summaryFields = ['id', 'compartmentId', 'displayName', 'description', 'lifecycleState', 'freeformTags', 'definedTags', 'systemTags', 'timeCreated', 'timeUpdated'] as const;
export const iotDomainSummary = pick(iotDomain, ['iotDomainGroupId', ...summaryFields]);
export const iotDomainGroupSummary = pick(iotDomainGroup, ['type', ...summaryFields]);

const tagsBody = { freeformTags: stringMap, definedTags } as const;
const nameAndDescription = {
  displayName: { type: 'string', minLength: 1, maxLength: 255 },
  description: { type: 'string', maxLength: 400 },
} as const;
export const domainGroupTypes = ['PRODUCTION', 'DEVELOPMENT', 'STANDARD', 'LIGHTWEIGHT'] as const;

export const createIotDomainGroupBody = {
  type: 'object',
  required: ['compartmentId'],
  properties: {
    compartmentId: { type: 'string', minLength: 1, maxLength: 255 },
    type: { type: 'string', enum: domainGroupTypes },
    ...nameAndDescription,
    ...tagsBody,
  },
} as const;

export const createIotDomainBody = {
  type: 'object',
  required: ['iotDomainGroupId', 'compartmentId'],
  properties: {
    iotDomainGroupId: { type: 'string', minLength: 1, maxLength: 255 },
    compartmentId: { type: 'string', minLength: 1, maxLength: 255 },
    ...nameAndDescription,
    ...tagsBody,
  },
} as const;

/** UpdateIotDomainDetails and UpdateIotDomainGroupDetails have the same fields. */
export const updateControlBody = { type: 'object', properties: { ...nameAndDescription, ...tagsBody } } as const;

export const changeCompartmentBody = {
  type: 'object',
  required: ['compartmentId'],
  properties: { compartmentId: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

export const retentionTypes = ['RAW_DATA', 'REJECTED_DATA', 'HISTORIZED_DATA', 'RAW_COMMAND_DATA'] as const;
export const changeRetentionBody = {
  type: 'object',
  required: ['type', 'dataRetentionPeriodInDays'],
  properties: {
    type: { type: 'string', enum: retentionTypes },
    dataRetentionPeriodInDays: { type: 'integer', minimum: 1 },
  },
} as const;

export const domainDataAccessBody = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['DIRECT', 'ORDS', 'APEX'] },
    dbAllowListedIdentityGroupNames: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 255 }, maxItems: 100 },
    dbAllowedIdentityDomainHost: { type: 'string', minLength: 1, maxLength: 255 },
    dbWorkspaceAdminInitialPassword: { type: 'string', minLength: 1, maxLength: 255 },
  },
} as const;

export const groupDataAccessBody = {
  type: 'object',
  required: ['dbAllowListedVcnIds'],
  properties: { dbAllowListedVcnIds: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 255 }, maxItems: 100 } },
} as const;

const workRequestResource = {
  type: 'object',
  properties: { entityType: str, actionType: str, identifier: str, entityUri: str, metadata: stringMap },
} as const;

export const workRequest = {
  type: 'object',
  properties: {
    operationType: str,
    status: str,
    id: str,
    compartmentId: str,
    resources: { type: 'array', items: workRequestResource },
    percentComplete: { type: 'number' },
    timeAccepted: str,
    timeStarted: nullableStr,
    timeFinished: nullableStr,
    timeUpdated: str,
  },
} as const;

export const workRequestError = { type: 'object', properties: { code: str, message: str, timestamp: str } } as const;
export const workRequestLogEntry = { type: 'object', properties: { message: str, timestamp: str } } as const;

export const invokeRawCommandBody = {
  type: 'object',
  required: ['requestDataFormat', 'requestEndpoint'],
  properties: {
    requestDataFormat: { type: 'string', enum: ['JSON', 'TEXT', 'BINARY'] },
    requestEndpoint: { type: 'string', minLength: 1 },
    requestDuration: { type: 'string' },
    requestData: {},
    requestDataContentType: { type: 'string' },
    responseEndpoint: { type: 'string', minLength: 1 },
    responseDuration: { type: 'string' },
  },
} as const;

export const secret = {
  type: 'object',
  properties: {
    id: str,
    compartmentId: str,
    vaultId: str,
    keyId: nullableStr,
    secretName: str,
    description: nullableStr,
    currentVersionNumber: { type: 'integer' },
    lifecycleState: str,
    freeformTags: stringMap,
    definedTags,
    secretRules: { type: 'array', items: { type: 'object', additionalProperties: true } },
    timeCreated: str,
  },
} as const;

export const createSecretBody = {
  type: 'object',
  required: ['secretContent'],
  properties: {
    compartmentId: { type: 'string', minLength: 1 },
    vaultId: { type: 'string', minLength: 1 },
    keyId: { type: 'string', minLength: 1 },
    secretName: { type: 'string', minLength: 1, maxLength: 255 },
    description: { type: 'string' },
    freeformTags: stringMap,
    definedTags,
    secretContent: {
      type: 'object',
      required: ['content'],
      properties: {
        contentType: { type: 'string', enum: ['BASE64'] },
        content: { type: 'string', minLength: 1 },
        name: { type: 'string' },
        stage: { type: 'string', enum: ['CURRENT', 'PENDING'] },
      },
    },
  },
} as const;

export const secretSummary = pick(secret, ['id', 'compartmentId', 'vaultId', 'keyId', 'secretName', 'description', 'lifecycleState', 'freeformTags', 'definedTags', 'timeCreated']);

export const updateSecretBody = {
  type: 'object',
  properties: {
    currentVersionNumber: { type: 'integer', minimum: 1 },
    description: { type: 'string' },
    freeformTags: stringMap,
    definedTags,
    metadata: { type: 'object' },
    secretContent: createSecretBody.properties.secretContent,
  },
} as const;

const stages = ['CURRENT', 'PENDING', 'LATEST', 'PREVIOUS', 'DEPRECATED'] as const;
/** How GetSecretBundle and GetSecretBundleByName pick a version. */
export const secretBundleQuery = {
  type: 'object',
  properties: {
    versionNumber: { type: 'integer', minimum: 1 },
    secretVersionName: { type: 'string' },
    stage: { type: 'string', enum: stages },
  },
} as const;
export const secretBundleByNameQuery = {
  type: 'object',
  required: ['secretName', 'vaultId'],
  properties: { secretName: { type: 'string', minLength: 1 }, vaultId: { type: 'string', minLength: 1 }, ...secretBundleQuery.properties },
} as const;

export const listSecretsQuery = {
  type: 'object',
  required: ['compartmentId'],
  properties: {
    compartmentId: { type: 'string', minLength: 1 },
    name: { type: 'string' },
    vaultId: { type: 'string' },
    lifecycleState: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    page: { type: 'string' },
    sortBy: { type: 'string', enum: ['TIMECREATED', 'NAME'] },
    sortOrder: { type: 'string', enum: ['ASC', 'DESC'] },
  },
} as const;

export const secretBundle = {
  type: 'object',
  properties: {
    secretId: str,
    versionNumber: { type: 'integer' },
    versionName: nullableStr,
    secretBundleContent: { type: 'object', properties: { contentType: str, content: str } },
    stages: { type: 'array', items: str },
    timeCreated: str,
  },
} as const;

export const idParam = (name: string) =>
  ({ type: 'object', properties: { [name]: { type: 'string', minLength: 1 } }, required: [name] }) as const;

// ---- digital twin models, adapters and relationships ---------------------------------

const anyObject = { type: 'object', additionalProperties: true } as const;
const tail = lifecycleTagsAndTimes;
const named = { ...nameAndDescription, ...tagsBody } as const;

export const digitalTwinModel = {
  type: 'object',
  properties: { id: str, iotDomainId: str, specUri: str, displayName: str, description: nullableStr, ...tail },
} as const;

export const createModelBody = {
  type: 'object',
  required: ['iotDomainId', 'spec'],
  properties: { iotDomainId: { type: 'string', minLength: 1 }, spec: anyObject, ...named },
} as const;

export const updateNamedBody = { type: 'object', properties: named } as const;

const payload = {
  type: 'object',
  required: ['dataFormat'],
  properties: { dataFormat: { type: 'string', enum: ['JSON'] }, data: anyObject },
} as const;

export const inboundEnvelope = {
  type: 'object',
  required: ['referenceEndpoint'],
  properties: {
    referenceEndpoint: { type: 'string', minLength: 1 },
    referencePayload: payload,
    envelopeMapping: {
      type: 'object',
      properties: { timeObserved: { type: 'string', minLength: 1 }, target: { type: 'string', minLength: 1 }, contentRoot: { type: 'string', minLength: 1 } },
    },
  },
} as const;

export const inboundRoute = {
  type: 'object',
  required: ['condition'],
  properties: {
    condition: { type: 'string', minLength: 1 },
    description: str,
    referencePayload: payload,
    payloadMapping: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

export const digitalTwinAdapter = {
  type: 'object',
  properties: {
    id: str,
    iotDomainId: str,
    digitalTwinModelId: str,
    digitalTwinModelSpecUri: str,
    displayName: str,
    description: nullableStr,
    inboundEnvelope: anyObject,
    inboundRoutes: { type: 'array', items: anyObject },
    ...tail,
  },
} as const;

const adapterWritable = { inboundEnvelope, inboundRoutes: { type: 'array', items: inboundRoute, maxItems: 1000 }, ...named } as const;

export const createAdapterBody = {
  type: 'object',
  required: ['iotDomainId'],
  properties: {
    iotDomainId: { type: 'string', minLength: 1 },
    digitalTwinModelId: { type: 'string', minLength: 1 },
    digitalTwinModelSpecUri: { type: 'string', minLength: 1 },
    ...adapterWritable,
  },
} as const;

export const updateAdapterBody = { type: 'object', properties: adapterWritable } as const;

export const digitalTwinRelationship = {
  type: 'object',
  properties: {
    id: str,
    iotDomainId: str,
    displayName: str,
    description: nullableStr,
    contentPath: str,
    sourceDigitalTwinInstanceId: str,
    targetDigitalTwinInstanceId: str,
    content: { type: ['object', 'null'], additionalProperties: true },
    ...tail,
  },
} as const;

export const createRelationshipBody = {
  type: 'object',
  required: ['iotDomainId', 'contentPath', 'sourceDigitalTwinInstanceId', 'targetDigitalTwinInstanceId'],
  properties: {
    iotDomainId: { type: 'string', minLength: 1 },
    contentPath: { type: 'string', minLength: 1, maxLength: 512 },
    sourceDigitalTwinInstanceId: { type: 'string', minLength: 1 },
    targetDigitalTwinInstanceId: { type: 'string', minLength: 1 },
    content: anyObject,
    ...named,
  },
} as const;

export const updateRelationshipBody = { type: 'object', properties: { content: anyObject, ...named } } as const;

/** A reply that is a list: `{ items: [...] }`. */
export const itemsOf = <T>(schema: T) => ({ type: 'object', properties: { items: { type: 'array', items: schema } } }) as const;

/**
 * An OCI list's query string: what it lists within (`scope`, required), OCI's common
 * filters, paging and sorting, then the list's own filters.
 */
export const listQuerySchema = (scope: string, lifecycleStates: readonly string[], extra: Record<string, unknown> = {}) => ({
  type: 'object',
  required: [scope],
  properties: {
    [scope]: { type: 'string', minLength: 1 },
    id: { type: 'string' },
    displayName: { type: 'string' },
    lifecycleState: { type: 'string', enum: lifecycleStates },
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    page: { type: 'string' },
    sortOrder: { type: 'string', enum: ['ASC', 'DESC'] },
    sortBy: { type: 'string', enum: ['timeCreated', 'displayName'] },
    ...extra,
  },
});
