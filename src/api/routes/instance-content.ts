import type { FastifyPluginAsync } from 'fastify';
import { OciError } from '../../errors.js';
import { activeInstance } from '../../resources/instances.js';
import { etagOf } from '../../store/instances.js';
import { idParam } from '../schemas.js';

const contentQuery = {
  type: 'object',
  properties: { shouldIncludeMetadata: { type: 'boolean' } },
} as const;

/**
 * GetDigitalTwinInstanceContent. OCI documents that an instance without a digital twin
 * model has no content and answers 404 ("Getting a Digital Twin's Instance Content",
 * docs.oracle.com/en-us/iaas/Content/internet-of-things/get-digital-twin-instance-content.htm),
 * so the emulator does the same with OCI's usual 404 code. It normalises no telemetry
 * (it has no adapters), so an instance that names a model has an empty snapshot: `{}`.
 */
export const instanceContentRoutes: FastifyPluginAsync = async (app) => {
  const { store } = app.emu;

  app.get<{ Params: { digitalTwinInstanceId: string }; Querystring: { shouldIncludeMetadata?: boolean } }>(
    '/20250531/digitalTwinInstances/:digitalTwinInstanceId/content',
    { schema: { params: idParam('digitalTwinInstanceId'), querystring: contentQuery } },
    async (req, reply) => {
      const row = activeInstance(store, req.params.digitalTwinInstanceId);
      if (row.digital_twin_model_id === null && row.digital_twin_model_spec_uri === null) {
        throw new OciError(
          404,
          'NotAuthorizedOrNotFound',
          `Digital twin instance ${row.id} has no digital twin model, so it has no content`,
        );
      }
      void reply.header('etag', etagOf(row));
      return {};
    },
  );
};
