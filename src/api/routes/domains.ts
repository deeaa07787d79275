import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type {
  CreateDomainDetails,
  CreateGroupDetails,
  DomainDataAccess,
  RetentionDetails,
  UpdateDetails,
} from '../../control/control-plane.js';
import { invalid, missing, notFound } from '../../errors.js';
import type { DomainGroupRow, DomainRow, WorkRequestRow } from '../../store/control-plane.js';
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
  itemsOf,
  listQuerySchema,
  updateControlBody,
} from '../schemas.js';
import { retryTokens } from '../retry-tokens.js';
import { domainBody, domainGroupBody } from '../serialize.js';

const lifecycleStates = ['CREATING', 'UPDATING', 'ACTIVE', 'DELETING', 'DELETED', 'FAILED'] as const;

const listQuery = (extra: Record<string, unknown>) => listQuerySchema('compartmentId', lifecycleStates, extra);

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

  /**
   * The routes a domain group and a domain share: create (202 with location, etag and the work
   * request), get, list, update, delete and changeCompartment. `retryKey` names the body in the
   * retry token's fingerprint.
   */
  const resourceRoutes = <Row extends { id: string; revision: number }, Create>(r: {
    path: string;
    param: string;
    kind: string;
    retryKey: string;
    schemas: { create: object; resource: object; summary: object; listExtra: Record<string, unknown> };
    body: (row: Row) => object;
    create: (body: Create) => string;
    get: (id: string) => Row | undefined;
    list: (args: ReturnType<typeof listArgs>) => { rows: Row[]; more: boolean };
    update: (id: string, d: UpdateDetails, ifMatch?: string) => WorkRequestRow;
    delete: (id: string, ifMatch?: string) => WorkRequestRow;
    changeCompartment: (id: string, compartmentId: string, ifMatch?: string) => WorkRequestRow;
  }) => {
    const one = `${r.path}/:${r.param}`;
    type ById = { Params: Record<string, string>; Headers: Headers };
    const params = idParam(r.param);

    app.post<{ Body: Create; Headers: Headers }>(r.path, { schema: { body: r.schemas.create, response: { 202: r.schemas.resource } } }, async (req, reply) => {
      const { id } = creates.once(req.headers['opc-retry-token'], { [r.retryKey]: req.body }, () => r.create(req.body as Create));
      const row = r.get(id)!;
      const wr = control.store.firstWorkRequestFor(id)!;
      const url = `${baseUrl(req)}${r.path}/${id}`;
      return reply
        .status(202)
        .header('location', url)
        .header('content-location', url)
        .header('etag', etagOf(row))
        .header('opc-work-request-id', wr.id)
        .send(r.body(row));
    });

    app.get<ById>(one, { schema: { params, response: { 200: r.schemas.resource } } }, async (req, reply) => {
      const id = req.params[r.param]!;
      const row = r.get(id);
      if (!row) throw notFound(r.kind, id);
      void reply.header('etag', etagOf(row));
      return r.body(row);
    });

    app.get<{ Querystring: ListQuery }>(
      r.path,
      {
        schema: {
          querystring: listQuery(r.schemas.listExtra),
          response: { 200: itemsOf(r.schemas.summary) },
        },
      },
      async (req, reply) => {
        const args = listArgs(req.query);
        const { rows, more } = r.list(args);
        pageHeaders(reply, args.offset, args.limit, more);
        return { items: rows.map(r.body) };
      },
    );

    app.put<ById & { Body: UpdateDetails }>(one, { schema: { params, body: updateControlBody } }, async (req, reply) =>
      accepted(reply, r.update(req.params[r.param]!, req.body ?? {}, req.headers['if-match'])),
    );

    app.delete<ById>(one, { schema: { params } }, async (req, reply) => accepted(reply, r.delete(req.params[r.param]!, req.headers['if-match'])));

    app.post<ById & { Body: { compartmentId: string } }>(
      `${one}/actions/changeCompartment`,
      { schema: { params, body: changeCompartmentBody } },
      async (req, reply) => accepted(reply, r.changeCompartment(req.params[r.param]!, req.body.compartmentId, req.headers['if-match'])),
    );
  };

  // ---- domain groups ----------------------------------------------------------------

  resourceRoutes<DomainGroupRow, CreateGroupDetails>({
    path: '/20250531/iotDomainGroups',
    param: 'iotDomainGroupId',
    kind: 'IoT domain group',
    retryKey: 'group',
    schemas: { create: createIotDomainGroupBody, resource: iotDomainGroup, summary: iotDomainGroupSummary, listExtra: { type: { type: 'string', enum: domainGroupTypes } } },
    body: domainGroupBody,
    create: (body) => control.createGroup(body).row.id,
    get: control.store.group,
    list: control.store.listGroups,
    update: control.updateGroup,
    delete: control.deleteGroup,
    changeCompartment: control.changeGroupCompartment,
  });

  app.post<{ Params: { iotDomainGroupId: string }; Body: { dbAllowListedVcnIds: string[] }; Headers: Headers }>(
    '/20250531/iotDomainGroups/:iotDomainGroupId/actions/configureDataAccess',
    { schema: { params: idParam('iotDomainGroupId'), body: groupDataAccessBody } },
    async (req, reply) =>
      accepted(reply, control.configureGroupDataAccess(req.params.iotDomainGroupId, req.body.dbAllowListedVcnIds, req.headers['if-match'])),
  );

  // ---- domains ----------------------------------------------------------------------

  resourceRoutes<DomainRow, CreateDomainDetails>({
    path: '/20250531/iotDomains',
    param: 'iotDomainId',
    kind: 'IoT domain',
    retryKey: 'domain',
    schemas: { create: createIotDomainBody, resource: iotDomain, summary: iotDomainSummary, listExtra: { iotDomainGroupId: { type: 'string' } } },
    body: domainBody,
    create: (body) => control.createDomain(body).row.id,
    get: control.store.domain,
    list: control.store.listDomains,
    update: control.updateDomain,
    delete: control.deleteDomain,
    changeCompartment: control.changeDomainCompartment,
  });

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
