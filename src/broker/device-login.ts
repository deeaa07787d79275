import type { X509Certificate } from 'node:crypto';
import type { Clock } from '../clock/clock.js';
import type { Store } from '../store/index.js';
import type { InstanceRow } from '../store/instances.js';
import { checkDeviceLogin } from './authenticate.js';
import { checkCertificateLogin, commonNameOf } from './certificate-login.js';
import { connectRefusal, type ConnectFacts } from './limits.js';
import type { LoginThrottle } from './login-throttle.js';
import { ReasonCode } from './mqtt5.js';

export interface LoginAttempt {
  /** From the CONNECT packet; missing only if preConnect did not see it. */
  facts: ConnectFacts | undefined;
  username: string | undefined;
  password: Buffer | undefined;
  /** Source address, the unit of per-address backoff. */
  address: string;
  /** The client certificate the device presented, if any. */
  peerCertificate: X509Certificate | undefined;
  /** The host name the device sent in TLS SNI: which IoT domain it means. */
  servername?: string | false | null;
}

export type LoginOutcome =
  | { ok: true; instance: InstanceRow; method: 'password' | 'certificate' }
  | {
      ok: false;
      returnCode: 2 | 3 | 5;
      reason: string;
      key: string;
      retryAfterMs?: number;
      /** MQTT 5's finer reason code, where it says more than the 3.1.1 return code does (see mqtt5.ts). */
      reasonCode?: number;
    };

/**
 * Decides a device login on any transport (MQTTS, WSS, HTTPS), in order: CONNECT rules (CONNACK 2), login backoff (CONNACK 3,
 * "server unavailable": try later, without the credentials being looked at), then the
 * credentials (CONNACK 5). Only credential failures count towards backoff.
 */
export function createDeviceLogin(deps: {
  store: Pick<Store, 'instances' | 'secrets' | 'clientCertificates'>;
  /** The IoT domain a TLS SNI host name means (see control/hosts.ts), or null for none. */
  domainOf(servername: string | false | null | undefined): string | null;
  clock: Clock;
  maxKeepalive: number;
  throttle: LoginThrottle;
  ca: X509Certificate;
}) {
  return function login(a: LoginAttempt): LoginOutcome {
    const key = a.username || (a.peerCertificate ? commonNameOf(a.peerCertificate) : '');
    const refused = a.facts ? connectRefusal(a.facts, deps.maxKeepalive) : null;
    if (refused) return { ok: false, ...refused, key };

    const gate = deps.throttle.check(a.address, key);
    if (!gate.allowed) {
      const wait = Math.ceil(gate.retryAfterMs / 1000);
      return {
        ok: false,
        returnCode: 3,
        reasonCode: ReasonCode.serverBusy,
        reason: `too many failed logins for this ${gate.by === 'key' ? 'external key' : 'address'}; retry in ${wait} s`,
        key,
        retryAfterMs: gate.retryAfterMs,
      };
    }

    let outcome: LoginOutcome;
    const domainId = deps.domainOf(a.servername);
    if (!domainId) {
      outcome = { ok: false, returnCode: 5, reason: `no live IoT domain has deviceHost ${String(a.servername)}`, key };
    } else if (a.peerCertificate) {
      const cert = checkCertificateLogin(deps.store, domainId, a.peerCertificate, deps.ca, a.username, deps.clock.now());
      outcome = cert.ok ? { ok: true, instance: cert.instance, method: 'certificate' } : { ok: false, returnCode: 5, reason: cert.reason, key };
    } else {
      const instance = checkDeviceLogin(deps.store, domainId, a.username, a.password);
      outcome = instance ? { ok: true, instance, method: 'password' } : { ok: false, returnCode: 5, reasonCode: ReasonCode.badUserNameOrPassword, reason: 'wrong external key or password', key };
    }
    if (outcome.ok) deps.throttle.succeeded(a.address, key);
    else deps.throttle.failed(a.address, key);
    return outcome;
  };
}

export type DeviceLogin = ReturnType<typeof createDeviceLogin>;
