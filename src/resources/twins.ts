import { iso, type Clock } from '../clock/clock.js';
import { conflict, invalid, notFound, OciError } from '../errors.js';
import { ocid } from '../ids.js';
import { etagOf } from '../store/instances.js';
import type { Store } from '../store/index.js';
import {
  type ModelStore,
  type AdapterRow,
  type ModelRow,
  type RelationshipRow,
} from '../store/twin-resources.js';
import { compileAdapter, defaultEnvelope, defaultRoutes, type InboundEnvelope, type InboundRoute } from '../telemetry/adapter.js';
import { DtdlError, parseModel, type ParsedModel } from '../telemetry/dtdl.js';
import { ExpressionError } from '../telemetry/expressions.js';
import type { JqEngine } from '../telemetry/jq.js';

type Tags = { freeformTags?: Record<string, string>; definedTags?: Record<string, Record<string, unknown>> };
export interface ModelDetails extends Tags {
  iotDomainId: string;
  spec: Record<string, unknown>;
  displayName?: string;
  description?: string;
}
export interface AdapterDetails extends Tags {
  iotDomainId: string;
  digitalTwinModelId?: string;
  digitalTwinModelSpecUri?: string;
  displayName?: string;
  description?: string;
  inboundEnvelope?: InboundEnvelope;
  inboundRoutes?: InboundRoute[];
}
export interface RelationshipDetails extends Tags {
  iotDomainId: string;
  contentPath: string;
  sourceDigitalTwinInstanceId: string;
  targetDigitalTwinInstanceId: string;
  displayName?: string;
  description?: string;
  content?: Record<string, unknown>;
}
export type Updatable<T> = Partial<Omit<T, 'iotDomainId'>>;

const related = (what: string, id: string) =>
  new OciError(400, 'RelatedResourceNotAuthorizedOrNotFound', `${what} ${id} not found or not authorized`);

function checkDomain(store: Store, id: string): void {
  if (!store.controlPlane.domain(id)) throw related('iotDomainId: IoT domain', id);
}

export function checkEtag(row: { id: string; revision: number }, ifMatch: string | undefined): void {
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== etagOf(row)) {
    throw new OciError(412, 'NoEtagMatch', `if-match ${ifMatch} does not match the current etag of ${row.id}`);
  }
}

function baseRow(clock: Clock, d: Tags & { iotDomainId: string; description?: string }) {
  const now = iso(clock.now());
  return {
    iot_domain_id: d.iotDomainId,
    description: d.description ?? null,
    freeform_tags: JSON.stringify(d.freeformTags ?? {}),
    defined_tags: JSON.stringify(d.definedTags ?? {}),
    system_tags: '{}',
    lifecycle_state: 'ACTIVE' as const,
    time_created: now,
    time_updated: now,
    revision: 1,
  };
}

function updatedTail<Row extends { display_name: string; description: string | null; freeform_tags: string; defined_tags: string }>(
  clock: Clock,
  row: Row,
  d: Tags & { displayName?: string; description?: string },
): Row {
  return {
    ...row,
    display_name: d.displayName ?? row.display_name,
    description: d.description ?? row.description,
    freeform_tags: d.freeformTags ? JSON.stringify(d.freeformTags) : row.freeform_tags,
    defined_tags: d.definedTags ? JSON.stringify(d.definedTags) : row.defined_tags,
    time_updated: iso(clock.now()),
  };
}

/** The model a request names by id or by DTMI, which must be active and of `domainId`. */
function modelNamed(
  models: ModelStore,
  domainId: string,
  id: string | undefined,
  specUri: string | undefined,
  field: string,
): ModelRow | undefined {
  if (id !== undefined) {
    const row = models.get(id);
    if (!row || row.lifecycle_state !== 'ACTIVE' || row.iot_domain_id !== domainId) {
      throw related(`${field}: digital twin model (active, in IoT domain ${domainId})`, id);
    }
    if (specUri !== undefined && specUri !== row.spec_uri) {
      throw invalid(`digitalTwinModelSpecUri ${specUri} is not the DTMI of digitalTwinModelId ${id} (${row.spec_uri})`);
    }
    return row;
  }
  if (specUri !== undefined) {
    const row = models.activeBySpecUri(domainId, specUri);
    if (!row) throw related(`digitalTwinModelSpecUri: digital twin model (active, in IoT domain ${domainId})`, specUri);
    return row;
  }
  return undefined;
}

/**
 * The model and adapter an instance names must be active and of its domain, and agree;
 * an instance naming only an adapter takes the adapter's model (as Oracle's manage-dt
 * sample creates instances). Returns the model fields to store.
 */
export function instanceLinks(
  store: Store,
  domainId: string,
  d: { digitalTwinModelId?: string | null; digitalTwinModelSpecUri?: string | null; digitalTwinAdapterId?: string | null },
): { modelId: string | null; specUri: string | null; adapterId: string | null } {
  const { models, adapters } = store;
  const adapterId = d.digitalTwinAdapterId ?? null;
  let model = modelNamed(models, domainId, d.digitalTwinModelId ?? undefined, d.digitalTwinModelSpecUri ?? undefined, 'digitalTwinModelId');
  if (adapterId !== null) {
    const adapter = adapters.get(adapterId);
    if (!adapter || adapter.lifecycle_state !== 'ACTIVE' || adapter.iot_domain_id !== domainId) {
      throw related(`digitalTwinAdapterId: digital twin adapter (active, in IoT domain ${domainId})`, adapterId);
    }
    if (model && model.id !== adapter.digital_twin_model_id) {
      throw invalid(`digitalTwinAdapterId ${adapterId} is for model ${adapter.digital_twin_model_spec_uri}, not ${model.spec_uri}`);
    }
    model ??= models.get(adapter.digital_twin_model_id);
  }
  return { modelId: model?.id ?? null, specUri: model?.spec_uri ?? d.digitalTwinModelSpecUri ?? null, adapterId };
}

/** The digital twin resources of the IoT API, each change one transaction. */
export function twinResources(store: Store, clock: Clock, region: string, jq: JqEngine) {
  const { models, adapters, relationships } = store;
  const namedModel = (domainId: string, id: string | undefined, specUri: string | undefined, field: string) =>
    modelNamed(models, domainId, id, specUri, field);

  /** The parsed DTDL of a model; components resolve to other active models of its domain. */
  function parse(spec: unknown, domainId: string): ParsedModel {
    try {
      return parseModel(spec, (dtmi) => {
        const row = models.activeBySpecUri(domainId, dtmi);
        return row ? JSON.parse(row.spec) : undefined;
      });
    } catch (err) {
      if (err instanceof DtdlError) throw invalid(err.message);
      throw err;
    }
  }

  function activeModel(id: string): ModelRow {
    const row = models.get(id);
    if (!row || row.lifecycle_state !== 'ACTIVE') throw notFound('Digital twin model', id);
    return row;
  }
  function activeAdapter(id: string): AdapterRow {
    const row = adapters.get(id);
    if (!row || row.lifecycle_state !== 'ACTIVE') throw notFound('Digital twin adapter', id);
    return row;
  }
  function activeRelationship(id: string): RelationshipRow {
    const row = relationships.get(id);
    if (!row || row.lifecycle_state !== 'ACTIVE') throw notFound('Digital twin relationship', id);
    return row;
  }

  function compiled(envelope: InboundEnvelope, routes: InboundRoute[], model: ParsedModel): void {
    try {
      compileAdapter(envelope, routes, model, jq);
    } catch (err) {
      if (err instanceof ExpressionError) throw invalid(err.message);
      throw err;
    }
  }

  return {
    models: {
      get: (id: string) => models.get(id),
      list: models.list,
      create(d: ModelDetails): ModelRow {
        return store.atomically(() => {
          checkDomain(store, d.iotDomainId);
          const parsed = parse(d.spec, d.iotDomainId);
          const holder = models.activeBySpecUri(d.iotDomainId, parsed.specUri);
          if (holder) throw conflict(`A digital twin model with DTMI ${parsed.specUri} already exists in this IoT domain: ${holder.id}`);
          const row: ModelRow = {
            ...baseRow(clock, d),
            id: ocid('iotdigitaltwinmodel', region),
            spec_uri: parsed.specUri,
            // OCI: "If left blank, the display name [and description] will be derived from the spec."
            display_name: d.displayName ?? parsed.displayName ?? parsed.specUri,
            description: d.description ?? parsed.description ?? null,
            spec: JSON.stringify(d.spec),
          };
          models.insert(row);
          return row;
        });
      },
      update(id: string, d: Updatable<ModelDetails>, ifMatch: string | undefined): ModelRow {
        return store.atomically(() => {
          const row = activeModel(id);
          checkEtag(row, ifMatch);
          return models.update(updatedTail(clock, row, d));
        });
      },
      delete(id: string, ifMatch: string | undefined): ModelRow {
        return store.atomically(() => {
          const row = activeModel(id);
          checkEtag(row, ifMatch);
          const user = models.user(row);
          // The emulator's choice (docs/oci-choices.md): a model in use stays, as instances and adapters need it.
          if (user) throw conflict(`Digital twin model ${id} is used by digital twin ${user.kind} ${user.id}; delete or change that first`);
          return models.update({ ...row, lifecycle_state: 'DELETED', time_updated: iso(clock.now()) });
        });
      },
      spec: (id: string): { row: ModelRow; spec: unknown } => {
        const row = models.get(id);
        if (!row) throw notFound('Digital twin model', id);
        return { row, spec: JSON.parse(row.spec) };
      },
      parsed: (row: ModelRow) => parse(JSON.parse(row.spec), row.iot_domain_id),
    },

    adapters: {
      get: (id: string) => adapters.get(id),
      list: adapters.list,
      create(d: AdapterDetails): AdapterRow {
        return store.atomically(() => {
          checkDomain(store, d.iotDomainId);
          const modelRow = namedModel(d.iotDomainId, d.digitalTwinModelId, d.digitalTwinModelSpecUri, 'digitalTwinModelId');
          if (!modelRow) throw new OciError(400, 'MissingParameter', 'digitalTwinModelId or digitalTwinModelSpecUri is required');
          const model = parse(JSON.parse(modelRow.spec), d.iotDomainId);
          // Neither envelope nor routes: OCI's default adapter (see defaultEnvelope).
          const envelope = d.inboundEnvelope ?? (d.inboundRoutes ? { referenceEndpoint: '/' } : defaultEnvelope(model));
          const routes = d.inboundRoutes ?? defaultRoutes(model);
          compiled(envelope, routes, model);
          const id = ocid('iotdigitaltwinadapter', region);
          const row: AdapterRow = {
            ...baseRow(clock, d),
            id,
            digital_twin_model_id: modelRow.id,
            digital_twin_model_spec_uri: modelRow.spec_uri,
            display_name: d.displayName ?? id,
            inbound_envelope: JSON.stringify(envelope),
            inbound_routes: JSON.stringify(routes),
          };
          adapters.insert(row);
          return row;
        });
      },
      update(id: string, d: Updatable<AdapterDetails>, ifMatch: string | undefined): AdapterRow {
        return store.atomically(() => {
          const row = activeAdapter(id);
          checkEtag(row, ifMatch);
          const envelope = d.inboundEnvelope ?? (JSON.parse(row.inbound_envelope) as InboundEnvelope);
          const routes = d.inboundRoutes ?? (JSON.parse(row.inbound_routes) as InboundRoute[]);
          if (d.inboundEnvelope || d.inboundRoutes) compiled(envelope, routes, parse(JSON.parse(activeModel(row.digital_twin_model_id).spec), row.iot_domain_id));
          return adapters.update({
            ...updatedTail(clock, row, d),
            inbound_envelope: JSON.stringify(envelope),
            inbound_routes: JSON.stringify(routes),
          });
        });
      },
      delete(id: string, ifMatch: string | undefined): AdapterRow {
        return store.atomically(() => {
          const row = activeAdapter(id);
          checkEtag(row, ifMatch);
          const user = adapters.user(id);
          if (user) throw conflict(`Digital twin adapter ${id} is used by digital twin instance ${user}; delete or change that first`);
          return adapters.update({ ...row, lifecycle_state: 'DELETED', time_updated: iso(clock.now()) });
        });
      },
    },

    relationships: {
      get: (id: string) => relationships.get(id),
      list: relationships.list,
      create(d: RelationshipDetails): RelationshipRow {
        return store.atomically(() => {
          checkDomain(store, d.iotDomainId);
          for (const [field, instanceId] of [
            ['sourceDigitalTwinInstanceId', d.sourceDigitalTwinInstanceId],
            ['targetDigitalTwinInstanceId', d.targetDigitalTwinInstanceId],
          ] as const) {
            const instance = store.instances.get(instanceId);
            if (!instance || instance.lifecycle_state !== 'ACTIVE' || instance.iot_domain_id !== d.iotDomainId) {
              throw related(`${field}: digital twin instance (active, in IoT domain ${d.iotDomainId})`, instanceId);
            }
          }
          const id = ocid('iotdigitaltwinrelationship', region);
          const row: RelationshipRow = {
            ...baseRow(clock, d),
            id,
            display_name: d.displayName ?? d.contentPath,
            content_path: d.contentPath,
            source_digital_twin_instance_id: d.sourceDigitalTwinInstanceId,
            target_digital_twin_instance_id: d.targetDigitalTwinInstanceId,
            content: d.content ? JSON.stringify(d.content) : null,
          };
          relationships.insert(row);
          return row;
        });
      },
      update(id: string, d: Updatable<RelationshipDetails>, ifMatch: string | undefined): RelationshipRow {
        return store.atomically(() => {
          const row = activeRelationship(id);
          checkEtag(row, ifMatch);
          return relationships.update({ ...updatedTail(clock, row, d), content: d.content ? JSON.stringify(d.content) : row.content });
        });
      },
      delete(id: string, ifMatch: string | undefined): RelationshipRow {
        return store.atomically(() => {
          const row = activeRelationship(id);
          checkEtag(row, ifMatch);
          return relationships.update({ ...row, lifecycle_state: 'DELETED', time_updated: iso(clock.now()) });
        });
      },
    },

  };
}

export type TwinResources = ReturnType<typeof twinResources>;
