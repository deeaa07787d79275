import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const KEEPALIVE_MS = 15_000;

/**
 * Server-sent event streams for the console (no polling), the same way for every stream:
 * returns a function that takes a reply over as a stream. Streams never end on their own;
 * a closing server ends them so close() does not wait.
 */
export function eventStreams(app: FastifyInstance): (req: FastifyRequest, reply: FastifyReply) => ServerResponse {
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
  return (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'opc-request-id': String(req.id),
    });
    // Reconnect soon after an emulator restart.
    res.write('retry: 1000\n\n');
    open.add(res);
    // A comment line now and then keeps an idle stream open through proxies.
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    res.on('close', () => {
      open.delete(res);
      clearInterval(keepalive);
    });
    return res;
  };
}
