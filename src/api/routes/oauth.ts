import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { hostNameOf } from '../../control/hosts.js';

/** OAuth's error answer (RFC 6749 §5.2), as identity domains give it. */
function oauthError(reply: FastifyReply, status: number, error: string, description: string) {
  void reply.code(status).header('cache-control', 'no-store');
  return { error, error_description: description };
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const encoded = header && /^Basic\s+(\S+)$/i.exec(header)?.[1];
  if (!encoded) return null;
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { id: decodeURIComponent(text.slice(0, colon)), secret: decodeURIComponent(text.slice(colon + 1)) };
}

/**
 * An identity domain's token endpoint (`POST /oauth2/v1/token`), as Oracle's samples and
 * the OCI IoT MCP server call it for the data API: form-encoded, the client's id and
 * secret in Basic auth (or as form fields), the `password` or `client_credentials` grant.
 * The emulator has no users: any client and user are accepted; what it checks is the shape.
 */
export const oauthRoutes: FastifyPluginAsync = async (app) => {
  const tokens = app.oauth;

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  // Any other body reaches the route, which refuses it in OAuth's shape (OAuth clients read
  // `error`, not OCI's `code`); this plugin is encapsulated, so the API keeps its JSON-only parsing.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_req, _body, done) => done(null, undefined));

  app.post<{ Body: Record<string, string> | undefined }>('/oauth2/v1/token', async (req, reply) => {
    if (!req.headers['content-type']?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return oauthError(reply, 400, 'invalid_request', 'The token request must be sent as application/x-www-form-urlencoded');
    }
    const form = req.body ?? {};
    const client = basicCredentials(req.headers.authorization) ?? (form.client_id ? { id: form.client_id, secret: form.client_secret ?? '' } : null);
    if (!client || !client.id) {
      return oauthError(reply.header('www-authenticate', 'Basic realm="oauth"'), 401, 'invalid_client', 'Client authentication failed: send the client id and secret as Basic auth');
    }
    let subject: string;
    switch (form.grant_type) {
      case 'password':
        if (!form.username || !form.password) return oauthError(reply, 400, 'invalid_request', 'The password grant needs username and password');
        subject = form.username;
        break;
      case 'client_credentials':
        subject = client.id;
        break;
      case undefined:
      case '':
        return oauthError(reply, 400, 'invalid_request', 'grant_type is required');
      default:
        return oauthError(reply, 400, 'unsupported_grant_type', `The emulator issues tokens for the password and client_credentials grants, not ${form.grant_type}`);
    }
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return tokens.issue({ issuer: `https://${hostNameOf(req.headers.host) || 'localhost'}`, subject, clientId: client.id, scope: form.scope ?? '' });
  });
};
