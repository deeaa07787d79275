import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../errors.js';
import { createClientCertificate, type CreateCertificateDetails } from '../../resources/certificates.js';
import type { ClientCertificateRow } from '../../store/client-certificates.js';
import { idParam } from '../schemas.js';

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

const certificate = {
  type: 'object',
  properties: {
    id: str,
    commonName: str,
    serialNumber: str,
    fingerprintSha256: str,
    lifecycleState: str,
    timeCreated: str,
    timeValidFrom: str,
    timeValidTo: str,
    timeRevoked: nullableStr,
    revocationReason: nullableStr,
    certificatePem: str,
  },
} as const;

/** Only the reply to issuing carries the private key (never stored) and the CA to trust. */
const issued = {
  type: 'object',
  properties: { ...certificate.properties, privateKeyPem: str, caCertificatePem: str },
} as const;

const createBody = {
  type: 'object',
  required: ['commonName'],
  additionalProperties: false,
  properties: {
    // An externalKey is at most 255 characters (see the instance schema).
    commonName: { type: 'string', minLength: 1, maxLength: 255 },
    validity: { type: 'string', minLength: 1, maxLength: 64 },
  },
} as const;

function certificateBody(row: ClientCertificateRow) {
  return {
    id: row.id,
    commonName: row.common_name,
    serialNumber: row.serial_number,
    fingerprintSha256: row.fingerprint_sha256,
    lifecycleState: row.lifecycle_state,
    timeCreated: row.time_created,
    timeValidFrom: row.time_valid_from,
    timeValidTo: row.time_valid_to,
    timeRevoked: row.time_revoked,
    revocationReason: row.revocation_reason,
    certificatePem: row.certificate_pem,
  };
}

/**
 * Device certificates for mTLS, outside OCI's API: OCI devices get theirs from the OCI
 * Certificates service; here the emulator's CA issues them. The returned `id` is usable
 * as an instance's authId.
 */
export const certificateRoutes: FastifyPluginAsync = async (app) => {
  const { store, clock, config } = app.emu;

  app.post<{ Body: CreateCertificateDetails }>(
    '/emulator/certificates',
    { bodyLimit: 4096, schema: { body: createBody, response: { 200: issued } } },
    async (req) => {
      const { row, privateKeyPem, caCertificatePem } = await createClientCertificate(store, clock, config.region, config.certsDir, req.body);
      return { ...certificateBody(row), privateKeyPem, caCertificatePem };
    },
  );

  app.get<{ Params: { certificateId: string } }>(
    '/emulator/certificates/:certificateId',
    { schema: { params: idParam('certificateId'), response: { 200: certificate } } },
    async (req) => {
      const row = store.clientCertificates.get(req.params.certificateId);
      if (!row) throw notFound('Certificate', req.params.certificateId);
      return certificateBody(row);
    },
  );
};
