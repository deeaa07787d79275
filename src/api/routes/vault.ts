import type { FastifyPluginAsync } from 'fastify';
import { createHash } from 'node:crypto';
import { notFound } from '../../errors.js';
import { createSecret, type CreateSecretDetails } from '../../resources/secrets.js';
import { createSecretBody, idParam, secret, secretBundle } from '../schemas.js';
import { retryTokens } from '../retry-tokens.js';
import { secretBody, secretBundleBody } from '../serialize.js';

const etag = (id: string, version: number) => createHash('sha256').update(`${id}:${version}`).digest('hex').slice(0, 32);

/** The Vault (20180608) and Secrets (20190301) operations a device password needs. */
export const vaultRoutes: FastifyPluginAsync = async (app) => {
  const { store, clock, config } = app.emu;

  const creates = retryTokens(clock);

  app.post<{ Body: CreateSecretDetails; Headers: { 'opc-retry-token'?: string } }>(
    '/20180608/secrets',
    { schema: { body: createSecretBody, response: { 200: secret } } },
    async (req, reply) => {
      const { id } = creates.once(req.headers['opc-retry-token'], req.body, () => createSecret(store, clock, config.region, req.body).id);
      const row = store.secrets.get(id)!;
      void reply.header('etag', etag(row.id, row.version_number));
      return secretBody(row);
    },
  );

  app.get<{ Params: { secretId: string } }>(
    '/20180608/secrets/:secretId',
    { schema: { params: idParam('secretId'), response: { 200: secret } } },
    async (req, reply) => {
      const row = store.secrets.get(req.params.secretId);
      if (!row) throw notFound('Secret', req.params.secretId);
      void reply.header('etag', etag(row.id, row.version_number));
      return secretBody(row);
    },
  );

  app.get<{ Params: { secretId: string } }>(
    '/20190301/secretbundles/:secretId',
    { schema: { params: idParam('secretId'), response: { 200: secretBundle } } },
    async (req, reply) => {
      const row = store.secrets.get(req.params.secretId);
      if (!row) throw notFound('Secret', req.params.secretId);
      void reply.header('etag', etag(row.id, row.version_number));
      return secretBundleBody(row);
    },
  );
};
