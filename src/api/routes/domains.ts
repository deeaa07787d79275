import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type {
  CreateDomainDetails,
  CreateGroupDetails,
  DomainDataAccess,
  RetentionDetails,
  UpdateDetails,
} from '../../control/control-plane.js';
import { invalid, missing, notFound } from '../../errors.js';
import type { WorkRequestRow } from '../../store/control-plane.js';
import { etagOf } from '../../store/instances.js';
import {
  changeCompartmentBody,
  changeRetentionBody,
  createIotDomainBody,
  createIotDomainGroupBody,
  domainDataAccessBody,
  domainGroupTypes,
  groupDataAccessBody,
  idParam,
  iotDomain,
  iotDomainGroup,
  iotDomainGroupSummary,
  iotDomainSummary,
  updateControlBody,
} from '../schemas.js';
import { retryTokens } from '../retry-tokens.js';
import { domainBody, domainGroupBody } from '../serialize.js';

const lifecycleStates = ['CREATING', 'UPDATING', 'ACTIVE', 'DELETING', 'DELETED', 'FAILED'] as const;

const listQuery = (extra: Record<string, unknown>) =>
  ({
    type: 'object',
    required: ['compartmentId'],
    properties: {
      compartmentId: { type: 'string', minLength: 1 },
      id: { type: 'string' },
      displayName: { type: 'string' },
      lifecycleState: { type: 'string', enum: lifecycleStates },
      limit: { type: 'integer', minimum: 1, maximum: 1000 },
      page: { type: 'string' },
      sortOrder: { type: 'string', enum: ['ASC', 'DESC'] },
      sortBy: { type: 'string', enum: ['timeCreated', 'displayName'] },
      ...extra,
    },
  }) as const;

interface ListQuery {
  compartmentId: string;
  id?: string;
  displayName?: string;
  lifecycleState?: string;
  iotDomainGroupId?: string;
  type?: string;
  limit?: number;
  page?: string;
  sortOrder?: 'ASC' | 'DESC';
  sortBy?: 'timeCreated' | 'displayName';
}

type Headers = { 'if-match'?: string; 'opc-retry-token'?: string };

/** Page tokens are offsets; anything else is a token this service never issued. */
export function pageOffset(page: string | undefined): number {
  const offset = page === undefined ? 0 : Number(page);
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalid(`page "${page}" is not a page token this service issued`);
  return offset;
}

export function pageHeaders(reply: FastifyReply, offset: number, limit: number, more: boolean): void {
  if (more) void reply.header('opc-next-page', String(offset + limit));
  if (offset > 0) void reply.header('opc-prev-page', String(Math.max(0, offset - limit)));
}

const baseUrl = (req: FastifyRequest) => `${req.protocol}://${req.headers.host ?? req.hostname}`;

/**
 * IoT domain groups and domains: create, get, list, update, delete, changeCompartment,
 * configureDataAccess, changeDataRetentionPeriod. Every change answers 202 with an
 * `opc-work-request-id` and is finished by the control plane's scheduler.
 */
export const domainRoutes: FastifyPluginAsync = async (app) => {
  const { control, clock } = app.emu;
  const creates = retryTokens(clock);
  const accepted = (reply: FastifyReply, wr: WorkRequestRow) => reply.status(202).header('opc-work-request-id', wr.id).send();

  /** Lists use the page size OCI's SDKs default to and OCI's default sort orders. */
  const listArgs = (q: ListQuery) => {
    const sortBy = q.sortBy ?? 'timeCreated';
    return {
      compartments: control.visibleFrom(q.compartmentId),
      id: q.id,
      displayName: q.displayName,
      lifecycleState: q.lifecycleState,
      iotDomainGroupId: q.iotDomainGroupId,
      type: q.type,
      sortBy,
      sortOrder: q.sortOrder ?? (sortBy === 'timeCreated' ? 'DESC' : 'ASC'),
      offset: pageOffset(q.page),
      limit: q.limit ?? 100,
    } as const;
  };

  // ---- domain groups ----------------------------------------------------------------

  app.post<{ Body: CreateGroupDetails; Headers: Headers }>(
    '/20250531/iotDomainGroups',
    { schema: { body: createIotDomainGroupBody, response: { 202: iotDomainGroup } } },
    async (req, reply) => {
      const { id } = creates.once(req.headers['opc-retry-token'], { group: req.body }, () => control.createGroup(req.body).row.id);
      const row = control.store.group(id)!;
      const wr = control.store.firstWorkRequestFor(id)!;
      const url = `${baseUrl(req)}/20250531/iotDomainGroups/${id}`;
      return reply
        .status(202)
        .header('location', url)
        .header('content-location', url)
        .header('etag', etagOf(row))
        .header('opc-work-request-id', wr.id)
        .send(domainGroupBody(row));
    },
  );

  app.get<{ Params: { iotDomainGroupId: string } }>(
    '/20250531/iotDomainGroups/:iotDomainGroupId',
    { schema: { params: idParam('iotDomainGroupId'), response: { 200: iotDomainGroup } } },
    async (req, reply) => {
      const row = control.store.group(req.params.iotDomainGroupId);
      if (!row) throw notFound('IoT domain group', req.params.iotDomainGroupId);
      void reply.header('etag', etagOf(row));
      return domainGroupBody(row);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/20250531/iotDomainGroups',
    {
      schema: {
        querystring: listQuery({ type: { type: 'string', enum: domainGroupTypes } }),
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: iotDomainGroupSummary } } } },
      },
    },
    async (req, reply) => {
      const args = listArgs(req.query);
      const { rows, more } = control.store.listGroups(args);
      pageHeaders(reply, args.offset, args.limit, more);
      return { items: rows.map(domainGroupBody) };
    },
  );

  app.put<{ Params: { iotDomainGroupId: string }; Body: UpdateDetails; Headers: Headers }>(
    '/20250531/iotDomainGroups/:iotDomainGroupId',
    { schema: { params: idParam('iotDomainGroupId'), body: updateControlBody } },
    async (req, reply) => accepted(reply, control.updateGroup(req.params.iotDomainGroupId, req.body ?? {}, req.headers['if-match'])),
  );

  app.delete<{ Params: { iotDomainGroupId: string }; Headers: Headers }>(
    '/20250531/iotDomainGroups/:iotDomainGroupId',
    { schema: { params: idParam('iotDomainGroupId') } },
    async (req, reply) => accepted(reply, control.deleteGroup(req.params.iotDomainGroupId, req.headers['if-match'])),
  );

  app.post<{ Params: { iotDomainGroupId: string }; Body: { compartmentId: string }; Headers: Headers }>(
    '/20250531/iotDomainGroups/:iotDomainGroupId/actions/changeCompartment',
    { schema: { params: idParam('iotDomainGroupId'), body: changeCompartmentBody } },
    async (req, reply) => accepted(reply, control.changeGroupCompartment(req.params.iotDomainGroupId, req.body.compartmentId, req.headers['if-match'])),
  );

  app.post<{ Params: { iotDomainGroupId: string }; Body: { dbAllowListedVcnIds: string[] }; Headers: Headers }>(
    '/20250531/iotDomainGroups/:iotDomainGroupId/actions/configureDataAccess',
    { schema: { params: idParam('iotDomainGroupId'), body: groupDataAccessBody } },
    async (req, reply) =>
      accepted(reply, control.configureGroupDataAccess(req.params.iotDomainGroupId, req.body.dbAllowListedVcnIds, req.headers['if-match'])),
  );

  // ---- domains ----------------------------------------------------------------------

  app.post<{ Body: CreateDomainDetails; Headers: Headers }>(
    '/20250531/iotDomains',
    { schema: { body: createIotDomainBody, response: { 202: iotDomain } } },
    async (req, reply) => {
      const { id } = creates.once(req.headers['opc-retry-token'], { domain: req.body }, () => control.createDomain(req.body).row.id);
      const row = control.store.domain(id)!;
      const wr = control.store.firstWorkRequestFor(id)!;
      const url = `${baseUrl(req)}/20250531/iotDomains/${id}`;
      return reply
        .status(202)
        .header('location', url)
        .header('content-location', url)
        .header('etag', etagOf(row))
        .header('opc-work-request-id', wr.id)
        .send(domainBody(row));
    },
  );

  app.get<{ Params: { iotDomainId: string } }>(
    '/20250531/iotDomains/:iotDomainId',
    { schema: { params: idParam('iotDomainId'), response: { 200: iotDomain } } },
    async (req, reply) => {
      const row = control.store.domain(req.params.iotDomainId);
      if (!row) throw notFound('IoT domain', req.params.iotDomainId);
      void reply.header('etag', etagOf(row));
      return domainBody(row);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/20250531/iotDomains',
    {
      schema: {
        querystring: listQuery({ iotDomainGroupId: { type: 'string' } }),
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: iotDomainSummary } } } },
      },
    },
    async (req, reply) => {
      const args = listArgs(req.query);
      const { rows, more } = control.store.listDomains(args);
      pageHeaders(reply, args.offset, args.limit, more);
      return { items: rows.map(domainBody) };
    },
  );

  app.put<{ Params: { iotDomainId: string }; Body: UpdateDetails; Headers: Headers }>(
    '/20250531/iotDomains/:iotDomainId',
    { schema: { params: idParam('iotDomainId'), body: updateControlBody } },
    async (req, reply) => accepted(reply, control.updateDomain(req.params.iotDomainId, req.body ?? {}, req.headers['if-match'])),
  );

  app.delete<{ Params: { iotDomainId: string }; Headers: Headers }>(
    '/20250531/iotDomains/:iotDomainId',
    { schema: { params: idParam('iotDomainId') } },
    async (req, reply) => accepted(reply, control.deleteDomain(req.params.iotDomainId, req.headers['if-match'])),
  );

  app.post<{ Params: { iotDomainId: string }; Body: { compartmentId: string }; Headers: Headers }>(
    '/20250531/iotDomains/:iotDomainId/actions/changeCompartment',
    { schema: { params: idParam('iotDomainId'), body: changeCompartmentBody } },
    async (req, reply) => accepted(reply, control.changeDomainCompartment(req.params.iotDomainId, req.body.compartmentId, req.headers['if-match'])),
  );

  app.post<{ Params: { iotDomainId: string }; Body: RetentionDetails; Headers: Headers }>(
    '/20250531/iotDomains/:iotDomainId/actions/changeDataRetentionPeriod',
    { schema: { params: idParam('iotDomainId'), body: changeRetentionBody } },
    async (req, reply) => accepted(reply, control.changeRetention(req.params.iotDomainId, req.body, req.headers['if-match'])),
  );

  app.post<{ Params: { iotDomainId: string }; Body: Record<string, unknown> & { type: string }; Headers: Headers }>(
    '/20250531/iotDomains/:iotDomainId/actions/configureDataAccess',
    { schema: { params: idParam('iotDomainId'), body: domainDataAccessBody } },
    async (req, reply) => accepted(reply, control.configureDomainDataAccess(req.params.iotDomainId, dataAccess(req.body), req.headers['if-match'])),
  );
};

/** The body is one of three shapes told apart by `type`; each needs its own field. */
function dataAccess(body: Record<string, unknown> & { type: string }): DomainDataAccess {
  const need = { DIRECT: 'dbAllowListedIdentityGroupNames', ORDS: 'dbAllowedIdentityDomainHost', APEX: 'dbWorkspaceAdminInitialPassword' }[body.type]!;
  if (body[need] === undefined) throw missing(`${need} is required when type is ${body.type}`);
  const stray = Object.keys(body).find((k) => k !== 'type' && k !== need);
  if (stray) throw invalid(`${stray} does not apply to type ${body.type}`);
  return body as unknown as DomainDataAccess;
}
