import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OciError } from '../errors.js';

/** The cookie the console keeps the token in, so its fetches and its event stream carry it. */
export const ADMIN_COOKIE = 'oci_iot_emulator_token';

/** What stays open even with a token: probes and the CA a device must download to connect. */
const OPEN = new Set(['/emulator/health', '/emulator/ca.pem']);
/** The admin surface, by route template (or, for a path no route matched, by its decoded form). */
const ADMIN = /^\/(emulator\/|console(\/|$)|$)/;
/** The console's entry page: the one place a `?token=` link is taken (it sets the cookie). */
const ENTRY = new Set(['/console', '/console/']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on every route of the admin surface as it is registered (see registerAdminAuth). */
    admin?: boolean;
  }
}

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

/** Whether a route template (as registered) belongs to the admin surface. */
export function isAdminRoute(url: string): boolean {
  return ADMIN.test(url) && !OPEN.has(url);
}

export interface HostPolicy {
  bindHost: string;
  /** Device host names: the default domain's, and the suffix API-made domains get. */
  deviceHost: string;
  domainHostSuffix: string;
  /** Further names, from --allow-host (comma-separated). */
  allowHosts: string;
}

/**
 * Which `Host` header values may reach the console and /emulator. A DNS-rebinding page
 * reaches a loopback port under its own domain name, so only names this emulator is known
 * by are served: IP literals (no DNS involved), localhost and *.localhost (never resolved
 * outside this machine), the bind address, the device hosts, this machine's name when bound
 * beyond loopback, and what --allow-host adds.
 */
export function hostAllowed(policy: HostPolicy): (host: string | undefined) => boolean {
  const names = new Set(
    [policy.bindHost, policy.deviceHost, ...policy.allowHosts.split(',')].map((h) => h.trim().toLowerCase()).filter(Boolean),
  );
  if (!isLoopback(policy.bindHost)) names.add(hostname().toLowerCase());
  const suffix = `.${policy.domainHostSuffix.toLowerCase()}`;
  return (header) => {
    // HTTP/1.0 clients may send none; a browser always does.
    if (header === undefined || header === '') return true;
    const name = hostOf(header).toLowerCase();
    if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
    return names.has(name) || (suffix.length > 1 && name.endsWith(suffix));
  };
}

/** The name in a Host header, without its port (and without the brackets of an IPv6 literal). */
function hostOf(header: string): string {
  if (header.startsWith('[')) return header.slice(1, header.indexOf(']') >>> 0);
  const colon = header.lastIndexOf(':');
  return (colon === -1 ? header : header.slice(0, colon)).replace(/\.$/, '');
}

function presented(req: FastifyRequest, route: string | undefined): string | undefined {
  const auth = req.headers.authorization;
  const bearer = auth && /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
  if (bearer) return bearer;
  const header = req.headers['x-emulator-token'];
  if (typeof header === 'string' && header) return header;
  // A token in a URL ends up in logs and shell history: taken only where the printed console link points.
  if (route !== undefined && ENTRY.has(route)) {
    const query = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof query === 'string' && query) return query;
  }
  const cookie = req.headers.cookie?.split(/;\s*/).find((c) => c.startsWith(`${ADMIN_COOKIE}=`));
  if (!cookie) return undefined;
  try {
    return decodeURIComponent(cookie.slice(ADMIN_COOKIE.length + 1));
  } catch {
    return '';
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The path of a request as the router sees it: percent-decoded; null when it cannot be decoded. */
function decodedPath(url: string): string | null {
  const query = url.indexOf('?');
  const raw = query < 0 ? url : url.slice(0, query);
  // Nothing to decode (nearly every request): decodeURIComponent would return it as it is.
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/**
 * A path that different parsers read differently: `//`, `.` or `..` segments, a backslash, or
 * any of these hidden by percent-encoding. The router would not normalize them, a proxy or a
 * browser might; none of the API's paths has one, so they are refused before routing.
 */
function ambiguous(decoded: string): boolean {
  return decoded.includes('//') || decoded.includes('\\') || /\/\.\.?(\/|$)/.test(decoded) || decoded.includes('\0');
}

/**
 * The console and the `/emulator/*` routes (clock, SQL, certificates, faults, virtual
 * devices, webhooks) are the admin surface. Every route is judged by the template the
 * router matched, marked as it is registered, never by the raw URL, so no spelling of a
 * path (`/%65mulator/sql`) reaches an admin route unmarked.
 *
 * - Always: a request for them whose `Host` is not a name the emulator serves gets 403
 *   (against DNS rebinding), and an ambiguous path gets 400 on every route.
 * - With a token in force: they need it, as `Authorization: Bearer`, `x-emulator-token`, the
 *   console's cookie, or `?token=` on the console's entry page (which sets the cookie).
 *   The OCI API, the data API, /metrics, /docs, health and the CA never do.
 */
export function registerAdminAuth(app: FastifyInstance, token: string | null, hosts: HostPolicy): void {
  const allowed = hostAllowed(hosts);
  app.addHook('onRoute', (route) => {
    if (isAdminRoute(route.url ?? route.path)) route.config = { ...route.config, admin: true };
  });
  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const decoded = decodedPath(req.url);
    if (decoded === null || ambiguous(decoded)) {
      done(new OciError(400, 'InvalidParameter', 'The request path is ambiguous (empty, "." or ".." segments, a backslash, or bad percent-encoding)'));
      return;
    }
    const route = req.routeOptions.url;
    // A path no route matched is judged by its decoded, lower-cased spelling, so the answer
    // to `/EMULATOR/sql` does not tell whether a token would have helped.
    const admin = route === undefined ? isAdminRoute(decoded.toLowerCase()) : req.routeOptions.config.admin === true;
    if (!admin) {
      done();
      return;
    }
    if (!allowed(req.headers.host)) {
      done(
        new OciError(
          403,
          'NotAllowed',
          `The console and /emulator/* answer only to the host names the emulator serves, not "${req.headers.host}" (add it with --allow-host / OCI_IOT_ALLOW_HOST)`,
        ),
      );
      return;
    }
    if (token === null) {
      done();
      return;
    }
    const given = presented(req, route);
    if (given === undefined || !same(given, token)) {
      done(
        new OciError(
          401,
          'NotAuthenticated',
          given === undefined
            ? 'The emulator admin routes and console need the admin token (printed at start, or --admin-token / OCI_IOT_ADMIN_TOKEN): send Authorization: Bearer <token>, or open the console link printed at start'
            : 'The admin token is wrong',
        ),
      );
      return;
    }
    // The console page keeps the token for its own requests; the token stays out of scripts' reach.
    if (route !== undefined && ENTRY.has(route)) {
      void reply.header('set-cookie', `${ADMIN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`);
    }
    done();
  });
}
