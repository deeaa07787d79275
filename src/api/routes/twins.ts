import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { invalid, notFound } from '../../errors.js';
import { etagOf } from '../../store/instances.js';
import type { ResourceListFilter } from '../../store/twin-resources.js';
import { retryTokens } from '../retry-tokens.js';
import {
  createAdapterBody,
  createModelBody,
  createRelationshipBody,
  digitalTwinAdapter,
  digitalTwinModel,
  digitalTwinRelationship,
  idParam,
  itemsOf,
  listQuerySchema,
  updateAdapterBody,
  updateNamedBody,
  updateRelationshipBody,
} from '../schemas.js';
import { adapterBody, modelBody, relationshipBody } from '../serialize.js';

type Row = { id: string; revision: number };
type Body = Record<string, unknown>;

/** The five operations OCI gives each digital twin resource, the same way for all three. */
function crud<R extends Row, C, U>(
  app: FastifyInstance,
  spec: {
    path: string;
    idName: string;
    what: string;
    schema: object;
    createBody: object;
    updateBody: object;
    /** Query filters beyond OCI's common ones, as query name → column. */
    filters: Record<string, string>;
    body: (row: R) => Body;
    get: (id: string) => R | undefined;
    list: (f: ResourceListFilter) => { rows: R[]; more: boolean };
    create: (d: C) => R;
    update: (id: string, d: U, ifMatch: string | undefined) => R;
    remove: (id: string, ifMatch: string | undefined) => R;
    startsWith?: { query: string; column: string };
  },
) {
  const creates = retryTokens(app.emu.clock);
  const base = `/20250531/${spec.path}`;
  const params = idParam(spec.idName);
  type P = { Params: Record<string, string>; Headers: { 'if-match'?: string } };
  const id = (req: { params: Record<string, string> }) => req.params[spec.idName];
  const single = { 200: spec.schema };

  app.post<{ Body: C; Headers: { 'opc-retry-token'?: string } }>(base, { schema: { body: spec.createBody, response: single } }, async (req, reply) => {
    const made = creates.once(req.headers['opc-retry-token'], req.body, () => spec.create(req.body as C).id);
    const row = spec.get(made.id)!;
    void reply.header('etag', etagOf(row));
    return spec.body(row);
  });

  app.get<P>(`${base}/:${spec.idName}`, { schema: { params, response: single } }, async (req, reply) => {
    const row = spec.get(id(req));
    if (!row) throw notFound(spec.what, id(req));
    void reply.header('etag', etagOf(row));
    return spec.body(row);
  });

  const listQuery = listQuerySchema('iotDomainId', ['ACTIVE', 'DELETED'], {
    ...Object.fromEntries(Object.keys(spec.filters).map((k) => [k, { type: 'string' }])),
    ...(spec.startsWith ? { [spec.startsWith.query]: { type: 'string' } } : {}),
  });
  app.get<{ Querystring: Record<string, string | number | undefined> }>(
    base,
    { schema: { querystring: listQuery, response: { 200: itemsOf(spec.schema) } } },
    async (req, reply) => {
      const q = req.query;
      const offset = q.page === undefined ? 0 : Number(q.page);
      if (!Number.isSafeInteger(offset) || offset < 0) throw invalid(`page "${q.page}" is not a page token this service issued`);
      const sortBy = (q.sortBy as 'timeCreated' | 'displayName' | undefined) ?? 'timeCreated';
      const limit = (q.limit as number | undefined) ?? 100;
      const equals: Record<string, string | undefined> = { id: q.id as string | undefined, display_name: q.displayName as string | undefined };
      for (const [query, column] of Object.entries(spec.filters)) equals[column] = q[query] as string | undefined;
      const prefix = spec.startsWith ? (q[spec.startsWith.query] as string | undefined) : undefined;
      const { rows, more } = spec.list({
        iotDomainId: q.iotDomainId as string,
        equals,
        startsWith: prefix !== undefined ? { column: spec.startsWith!.column, prefix } : undefined,
        lifecycleState: q.lifecycleState as string | undefined,
        sortBy,
        // OCI: timeCreated sorts newest first by default, displayName A to Z.
        sortOrder: (q.sortOrder as 'ASC' | 'DESC' | undefined) ?? (sortBy === 'timeCreated' ? 'DESC' : 'ASC'),
        offset,
        limit,
      });
      if (more) void reply.header('opc-next-page', String(offset + limit));
      if (offset > 0) void reply.header('opc-prev-page', String(Math.max(0, offset - limit)));
      return { items: rows.map(spec.body) };
    },
  );

  app.put<P & { Body: U }>(`${base}/:${spec.idName}`, { schema: { params, body: spec.updateBody, response: single } }, async (req, reply) => {
    const row = spec.update(id(req), (req.body ?? {}) as U, req.headers['if-match']);
    void reply.header('etag', etagOf(row));
    return spec.body(row);
  });

  app.delete<P>(`${base}/:${spec.idName}`, { schema: { params } }, async (req, reply) => {
    spec.remove(id(req), req.headers['if-match']);
    return reply.status(204).send();
  });
}

/** Digital twin models (with `/spec`), adapters and relationships. */
export const twinRoutes: FastifyPluginAsync = async (app) => {
  const { models, adapters, relationships } = app.emu.twins;

  crud(app, {
    path: 'digitalTwinModels',
    idName: 'digitalTwinModelId',
    what: 'Digital twin model',
    schema: digitalTwinModel,
    createBody: createModelBody,
    updateBody: updateNamedBody,
    filters: {},
    startsWith: { query: 'specUriStartsWith', column: 'spec_uri' },
    body: modelBody,
    get: models.get,
    list: models.list,
    create: models.create,
    update: models.update,
    remove: models.delete,
  });

  app.get<{ Params: { digitalTwinModelId: string } }>(
    '/20250531/digitalTwinModels/:digitalTwinModelId/spec',
    { schema: { params: idParam('digitalTwinModelId') } },
    async (req, reply) => {
      const { row, spec } = models.spec(req.params.digitalTwinModelId);
      void reply.header('etag', etagOf(row));
      return spec;
    },
  );

  crud(app, {
    path: 'digitalTwinAdapters',
    idName: 'digitalTwinAdapterId',
    what: 'Digital twin adapter',
    schema: digitalTwinAdapter,
    createBody: createAdapterBody,
    updateBody: updateAdapterBody,
    filters: { digitalTwinModelId: 'digital_twin_model_id', digitalTwinModelSpecUri: 'digital_twin_model_spec_uri' },
    body: adapterBody,
    get: adapters.get,
    list: adapters.list,
    create: adapters.create,
    update: adapters.update,
    remove: adapters.delete,
  });

  crud(app, {
    path: 'digitalTwinRelationships',
    idName: 'digitalTwinRelationshipId',
    what: 'Digital twin relationship',
    schema: digitalTwinRelationship,
    createBody: createRelationshipBody,
    updateBody: updateRelationshipBody,
    filters: {
      contentPath: 'content_path',
      sourceDigitalTwinInstanceId: 'source_digital_twin_instance_id',
      targetDigitalTwinInstanceId: 'target_digital_twin_instance_id',
    },
    body: relationshipBody,
    get: relationships.get,
    list: relationships.list,
    create: relationships.create,
    update: relationships.update,
    remove: relationships.delete,
  });
};
