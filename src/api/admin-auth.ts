import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OciError } from '../errors.js';

/** The cookie the console keeps the token in, so its fetches and its event stream carry it. */
export const ADMIN_COOKIE = 'oci_iot_emulator_token';

/** What stays open even with a token: probes and the CA a device must download to connect. */
const OPEN = new Set(['/emulator/health', '/emulator/ca.pem']);
const ADMIN = /^\/(emulator\/|console(\/|$)|$)/;

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The admin token in force: the one given, else, when the listeners are reachable from
 * other machines, a fresh one (printed at start); null on loopback with none given (open,
 * as before).
 */
export function adminTokenFor(bindHost: string, given: string): string | null {
  if (given) return given;
  return isLoopback(bindHost) ? null : randomBytes(18).toString('base64url');
}

function presented(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  const bearer = auth && /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
  if (bearer) return bearer;
  const header = req.headers['x-emulator-token'];
  if (typeof header === 'string' && header) return header;
  const query = (req.query as Record<string, unknown> | undefined)?.token;
  if (typeof query === 'string' && query) return query;
  const cookie = req.headers.cookie?.split(/;\s*/).find((c) => c.startsWith(`${ADMIN_COOKIE}=`));
  return cookie ? decodeURIComponent(cookie.slice(ADMIN_COOKIE.length + 1)) : undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The console and the `/emulator/*` routes (clock, SQL, certificates, faults, virtual
 * devices, webhooks) need the admin token when one is in force; the OCI API, the data
 * API, /metrics and /docs never do. The token comes as `Authorization: Bearer`,
 * `x-emulator-token`, `?token=` (the console link printed at start) or the console's cookie.
 */
export function registerAdminAuth(app: FastifyInstance, token: string | null): void {
  if (token === null) return;
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (!ADMIN.test(path) || OPEN.has(path)) return;
    const given = presented(req);
    if (given === undefined || !same(given, token)) {
      throw new OciError(
        401,
        'NotAuthenticated',
        given === undefined
          ? 'The emulator admin routes and console need the admin token (printed at start, or --admin-token / OCI_IOT_ADMIN_TOKEN): send Authorization: Bearer <token>, or open the console link printed at start'
          : 'The admin token is wrong',
      );
    }
    // The console page keeps the token for its own requests; the token stays out of scripts' reach.
    if (path === '/console/' || path === '/console' || path === '/') {
      void reply.header('set-cookie', `${ADMIN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`);
    }
  });
}
