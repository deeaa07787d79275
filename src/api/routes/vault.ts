import type { FastifyPluginAsync } from 'fastify';
import { createHash } from 'node:crypto';
import { notFound } from '../../errors.js';
import { createSecret, updateSecret, type CreateSecretDetails, type UpdateSecretDetails } from '../../resources/secrets.js';
import type { SecretStage, VersionedSecretRow } from '../../store/secret-versions.js';
import {
  createSecretBody,
  idParam,
  listSecretsQuery,
  secret,
  secretBundle,
  secretBundleByNameQuery,
  secretBundleQuery,
  secretSummary,
  updateSecretBody,
} from '../schemas.js';
import { retryTokens } from '../retry-tokens.js';
import { secretBody, secretBundleBody } from '../serialize.js';
import { pageHeaders, pageOffset } from './domains.js';

const etag = (id: string, version: number) => createHash('sha256').update(`${id}:${version}`).digest('hex').slice(0, 32);

type BundleQuery = { versionNumber?: number; secretVersionName?: string; stage?: SecretStage };
type ListQuery = {
  compartmentId: string;
  name?: string;
  vaultId?: string;
  lifecycleState?: string;
  limit?: number;
  page?: string;
  sortBy?: 'TIMECREATED' | 'NAME';
  sortOrder?: 'ASC' | 'DESC';
};

/** The Vault (20180608) and Secrets (20190301) operations a device password needs. */
export const vaultRoutes: FastifyPluginAsync = async (app) => {
  const { store, clock, config, control } = app.emu;
  const versions = store.secretVersions;
  const creates = retryTokens(clock);

  const live = (id: string): VersionedSecretRow => {
    const row = versions.get(id);
    if (!row) throw notFound('Secret', id);
    return row;
  };

  /** The version a bundle request names: a number, a stage, or CURRENT when neither is given. */
  function bundle(row: VersionedSecretRow, q: BundleQuery) {
    // The emulator does not name versions, so a version name matches none.
    if (q.secretVersionName !== undefined) throw notFound(`Version "${q.secretVersionName}" of secret`, row.id);
    let n: number | undefined = q.versionNumber;
    if (n === undefined) n = versions.versionAtStage(row, q.stage ?? 'CURRENT');
    const version = n === undefined ? undefined : versions.version(row.id, n);
    if (!version) throw notFound(q.versionNumber !== undefined ? `Version ${q.versionNumber} of secret` : `Stage ${q.stage} of secret`, row.id);
    const stages = versions.stagesOf(row, version.version_number);
    if (q.stage !== undefined && !stages.includes(q.stage)) throw notFound(`Version ${version.version_number} at stage ${q.stage} of secret`, row.id);
    return secretBundleBody(row, version, stages);
  }

  app.post<{ Body: CreateSecretDetails; Headers: { 'opc-retry-token'?: string } }>(
    '/20180608/secrets',
    { schema: { body: createSecretBody, response: { 200: secret } } },
    async (req, reply) => {
      const { id } = creates.once(req.headers['opc-retry-token'], req.body, () => createSecret(store, clock, config.region, req.body).id);
      const row = live(id);
      void reply.header('etag', etag(row.id, row.version_number));
      return secretBody(row);
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/20180608/secrets',
    { schema: { querystring: listSecretsQuery, response: { 200: { type: 'array', items: secretSummary } } } },
    async (req, reply) => {
      const q = req.query;
      const offset = pageOffset(q.page);
      const limit = q.limit ?? 100;
      const sortBy = q.sortBy ?? 'TIMECREATED';
      const { rows, more } = versions.list({
        compartments: control.visibleFrom(q.compartmentId),
        name: q.name,
        vaultId: q.vaultId,
        lifecycleState: q.lifecycleState,
        sortBy,
        // Vault: TIMECREATED sorts newest first by default, NAME A to Z.
        sortOrder: q.sortOrder ?? (sortBy === 'TIMECREATED' ? 'DESC' : 'ASC'),
        offset,
        limit,
      });
      pageHeaders(reply, offset, limit, more);
      return rows.map(secretBody);
    },
  );

  app.get<{ Params: { secretId: string } }>(
    '/20180608/secrets/:secretId',
    { schema: { params: idParam('secretId'), response: { 200: secret } } },
    async (req, reply) => {
      const row = live(req.params.secretId);
      void reply.header('etag', etag(row.id, row.version_number));
      return secretBody(row);
    },
  );

  app.put<{ Params: { secretId: string }; Body: UpdateSecretDetails }>(
    '/20180608/secrets/:secretId',
    { schema: { params: idParam('secretId'), body: updateSecretBody, response: { 200: secret } } },
    async (req, reply) => {
      const row = updateSecret(store, clock, req.params.secretId, req.body ?? {});
      void reply.header('etag', etag(row.id, row.version_number));
      return secretBody(row);
    },
  );

  app.get<{ Params: { secretId: string }; Querystring: BundleQuery }>(
    '/20190301/secretbundles/:secretId',
    { schema: { params: idParam('secretId'), querystring: secretBundleQuery, response: { 200: secretBundle } } },
    async (req, reply) => {
      const row = live(req.params.secretId);
      const body = bundle(row, req.query);
      void reply.header('etag', etag(row.id, body.versionNumber));
      return body;
    },
  );

  app.post<{ Querystring: BundleQuery & { secretName: string; vaultId: string } }>(
    '/20190301/secretbundles/actions/getByName',
    { schema: { querystring: secretBundleByNameQuery, response: { 200: secretBundle } } },
    async (req, reply) => {
      const { secretName, vaultId, ...q } = req.query;
      const row = versions.byName(vaultId, secretName);
      if (!row) throw notFound(`Secret "${secretName}" in vault`, vaultId);
      const body = bundle(row, q);
      void reply.header('etag', etag(row.id, body.versionNumber));
      return body;
    },
  );
};
