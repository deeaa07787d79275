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
 * GetDigitalTwinInstanceContent: the instance's snapshot as one object shaped by its model
 * (`file.commandDetails` becomes `{"file": {"commandDetails": …}}`); contents never mapped
 * are absent. OCI documents that an instance without a digital twin model has no content
 * and answers 404 ("Getting a Digital Twin's Instance Content",
 * docs.oracle.com/en-us/iaas/Content/internet-of-things/get-digital-twin-instance-content.htm).
 * With shouldIncludeMetadata, `$metadata` gives each content path's time observed (the
 * emulator's shape; README "Where OCI is not documented").
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
      const content: Record<string, unknown> = {};
      const metadata: Record<string, { timeObserved: string }> = {};
      for (const s of store.telemetryData.snapshotOf(row.id)) {
        const path = s.content_path.split('.');
        let at = content;
        for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
        at[path[path.length - 1]] = JSON.parse(s.value);
        metadata[s.content_path] = { timeObserved: s.time_observed };
      }
      if (req.query.shouldIncludeMetadata && Object.keys(metadata).length > 0) content.$metadata = metadata;
      void reply.header('etag', etagOf(row));
      return content;
    },
  );
};
