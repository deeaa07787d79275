/**
 * JSON Schemas of the digital twin model, adapter and relationship operations (request
 * validation and response serialization), and the bodies the rows become.
 */
import type { AdapterRow, ModelRow, RelationshipRow } from '../store/twin-resources.js';

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const definedTags = { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const tail = {
  lifecycleState: str,
  freeformTags: stringMap,
  definedTags,
  systemTags: definedTags,
  timeCreated: str,
  timeUpdated: str,
} as const;
const named = {
  displayName: { type: 'string', minLength: 1, maxLength: 255 },
  description: { type: 'string', maxLength: 400 },
  freeformTags: stringMap,
  definedTags,
} as const;

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

const json = <T>(text: string | null, fallback: T): T => (text ? (JSON.parse(text) as T) : fallback);

function tailBody(row: ModelRow | AdapterRow | RelationshipRow) {
  return {
    lifecycleState: row.lifecycle_state,
    freeformTags: json(row.freeform_tags, {}),
    definedTags: json(row.defined_tags, {}),
    systemTags: json(row.system_tags, {}),
    timeCreated: row.time_created,
    timeUpdated: row.time_updated,
  };
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
