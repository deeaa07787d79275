import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';

/**
 * HEAD is answered as the GET of the same path, without its body. Fastify's own way
 * (`exposeHeadRoutes`) registers a HEAD copy of every GET route: 63 of the API's 166
 * routes, a third of what a later in-process `startEmulator()` spent registering routes.
 * Node's response already knows it answers a HEAD (the method is read when the response
 * is made, and it then sends no body, whatever the handler writes), so the request is
 * routed as a GET; `requestMethod` keeps the method the client sent, for the signature
 * check and the metrics.
 */
const SENT_AS_HEAD = Symbol('sent as HEAD');
type Marked = IncomingMessage & { [SENT_AS_HEAD]?: true };

/**
 * Fastify's `serverFactory`: a plain HTTP server that routes HEAD as GET. `opts` are
 * Fastify's options; the timeouts it sets on a server it makes itself are set here.
 * `serverOptions` go to Node's `createServer` (those it takes only there).
 */
export function headAsGetServer(handler: RequestListener, opts: Record<string, unknown>, serverOptions: ServerOptions = {}): Server {
  const num = (name: string) => (typeof opts[name] === 'number' ? (opts[name] as number) : 0);
  const server = createServer(serverOptions, headAsGet(handler));
  server.keepAliveTimeout = num('keepAliveTimeout');
  server.requestTimeout = num('requestTimeout');
  server.setTimeout(num('connectionTimeout'));
  if (num('maxRequestsPerSocket') > 0) server.maxRequestsPerSocket = num('maxRequestsPerSocket');
  return server;
}

/** A request handler that routes HEAD as GET (the API's, on whichever server it is served). */
export function headAsGet(handler: RequestListener): RequestListener {
  return (req: Marked, res: ServerResponse) => {
    if (req.method === 'HEAD') {
      req[SENT_AS_HEAD] = true;
      req.method = 'GET';
    }
    handler(req, res);
  };
}

/** The method the client sent (HEAD for a request routed as GET). */
export function requestMethod(req: IncomingMessage): string {
  return (req as Marked)[SENT_AS_HEAD] ? 'HEAD' : (req.method ?? 'GET');
}
