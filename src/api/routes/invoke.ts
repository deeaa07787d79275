import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { parseCommandRequest, type InvokeRawCommandDetails } from '../../commands/request.js';
import { activeInstance } from '../../resources/instances.js';
import { idParam, invokeRawCommandBody } from '../schemas.js';

/** Who invoked: the user OCID of a signed request's keyId (`tenancy/user/fingerprint`). */
function principalOf(authorization: string | undefined): string {
  const keyId = /keyId="([^"]+)"/.exec(authorization ?? '')?.[1];
  return keyId?.split('/')[1] || 'anonymous';
}

export const invokeRoutes: FastifyPluginAsync = async (app) => {
  const { store, config, engine } = app.emu;

  app.post<{
    Params: { digitalTwinInstanceId: string };
    Body: InvokeRawCommandDetails;
    Headers: { 'opc-retry-token'?: string; authorization?: string };
  }>(
    '/20250531/digitalTwinInstances/:digitalTwinInstanceId/actions/invokeRawCommand',
    {
      // 256 KiB of data, base64-encoded for BINARY, plus the other fields.
      bodyLimit: 512 * 1024,
      schema: { params: idParam('digitalTwinInstanceId'), body: invokeRawCommandBody },
    },
    async (req, reply) => {
      const instance = activeInstance(store, req.params.digitalTwinInstanceId);
      const request = parseCommandRequest(req.body, {
        requestDuration: config.defaultRequestDuration,
        responseDuration: config.defaultResponseDuration,
      });
      const retryToken = req.headers['opc-retry-token'];
      const { id } = await engine.invoke({
        instanceId: instance.id,
        domainId: instance.iot_domain_id,
        request,
        createdBy: principalOf(req.headers.authorization),
        retryToken,
        fingerprint: retryToken ? createHash('sha256').update(JSON.stringify(req.body)).digest('hex') : undefined,
      });
      const origin = `${req.protocol}://${req.headers.host ?? `localhost:${config.restPort}`}`;
      // The row is on the data API of the instance's own domain.
      const shortId = store.domains.get(instance.iot_domain_id)!.short_id;
      void reply.header('location', `${origin}/ords/${shortId}/20250531/rawCommandData/${id}`);
      return reply.status(202).send();
    },
  );
};
