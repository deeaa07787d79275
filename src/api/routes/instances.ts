import type { FastifyPluginAsync } from 'fastify';
import { invalid, notFound } from '../../errors.js';
import {
  createInstance,
  deleteInstance,
  updateInstanceFields,
  type CreateInstanceDetails,
  type InstanceFields,
} from '../../resources/instances.js';
import { etagOf, type InstanceFilter } from '../../store/instances.js';
import { connectivityTypes, createInstanceBody, digitalTwinInstance, idParam, itemsOf, listQuerySchema, updateInstanceBody } from '../schemas.js';
import { retryTokens } from '../retry-tokens.js';
import { instanceBody } from '../serialize.js';

const listQuery = listQuerySchema('iotDomainId', ['ACTIVE', 'DELETED'], {
  connectivityType: { type: 'string', enum: connectivityTypes },
  digitalTwinModelId: { type: 'string' },
  digitalTwinModelSpecUri: { type: 'string' },
});

type ListQuery = Omit<InstanceFilter, 'sortBy' | 'sortOrder' | 'offset' | 'limit'> &
  Partial<Pick<InstanceFilter, 'sortBy' | 'sortOrder' | 'limit'>> & { page?: string };

const instanceParams = idParam('digitalTwinInstanceId');
type InstanceParams = { Params: { digitalTwinInstanceId: string } };
type IfMatch = { Headers: { 'if-match'?: string } };

export const instanceRoutes: FastifyPluginAsync = async (app) => {
  const { store, clock, config, devices } = app.emu;

  const creates = retryTokens(clock);

  app.post<{ Body: CreateInstanceDetails; Headers: { 'opc-retry-token'?: string } }>(
    '/20250531/digitalTwinInstances',
    { schema: { body: createInstanceBody, response: { 200: digitalTwinInstance } } },
    async (req, reply) => {
      const { id } = creates.once(req.headers['opc-retry-token'], req.body, () => createInstance(store, clock, config.region, req.body).id);
      const row = store.instances.get(id)!;
      void reply.header('etag', etagOf(row));
      return instanceBody(row);
    },
  );

  app.get<InstanceParams>(
    '/20250531/digitalTwinInstances/:digitalTwinInstanceId',
    { schema: { params: instanceParams, response: { 200: digitalTwinInstance } } },
    async (req, reply) => {
      const row = store.instances.get(req.params.digitalTwinInstanceId);
      if (!row) throw notFound('Digital twin instance', req.params.digitalTwinInstanceId);
      void reply.header('etag', etagOf(row));
      return instanceBody(row);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/20250531/digitalTwinInstances',
    {
      schema: {
        querystring: listQuery,
        response: { 200: itemsOf(digitalTwinInstance) },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const offset = q.page === undefined ? 0 : Number(q.page);
      if (!Number.isSafeInteger(offset) || offset < 0) throw invalid(`page "${q.page}" is not a page token this service issued`);
      const sortBy = q.sortBy ?? 'timeCreated';
      const limit = q.limit ?? 100;
      const { rows, more } = store.instances.list({
        ...q,
        sortBy,
        // OCI: timeCreated sorts newest first by default, displayName A to Z.
        sortOrder: q.sortOrder ?? (sortBy === 'timeCreated' ? 'DESC' : 'ASC'),
        offset,
        limit,
      });
      if (more) void reply.header('opc-next-page', String(offset + limit));
      if (offset > 0) void reply.header('opc-prev-page', String(Math.max(0, offset - limit)));
      return { items: rows.map(instanceBody) };
    },
  );

  app.put<InstanceParams & IfMatch & { Body: InstanceFields }>(
    '/20250531/digitalTwinInstances/:digitalTwinInstanceId',
    { schema: { params: instanceParams, body: updateInstanceBody, response: { 200: digitalTwinInstance } } },
    async (req, reply) => {
      const { row, credentialsChanged } = updateInstanceFields(
        store,
        clock,
        req.params.digitalTwinInstanceId,
        req.body ?? {},
        req.headers['if-match'],
      );
      if (credentialsChanged) devices.disconnect(row.id);
      void reply.header('etag', etagOf(row));
      return instanceBody(row);
    },
  );

  app.delete<InstanceParams & IfMatch>(
    '/20250531/digitalTwinInstances/:digitalTwinInstanceId',
    { schema: { params: instanceParams } },
    async (req, reply) => {
      const row = deleteInstance(store, clock, req.params.digitalTwinInstanceId, req.headers['if-match']);
      devices.disconnect(row.id);
      return reply.status(204).send();
    },
  );
};
