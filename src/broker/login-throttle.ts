import type { Clock } from '../clock/clock.js';

export interface LoginThrottleOptions {
  /** Failures for one external key allowed before backoff starts. */
  failuresPerKey: number;
  /** Failures from one source address allowed before backoff starts. */
  failuresPerAddress: number;
  /** First backoff; each further failure doubles it. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A key or address with no failure for this long starts again from zero. */
  forgetAfterMs: number;
  /** How long a successful login from an address exempts that key from the address's backoff. */
  trustForMs: number;
  /** Entries kept per table, so spraying random keys cannot exhaust memory. */
  maxEntries: number;
}

export const THROTTLE_DEFAULTS: Omit<LoginThrottleOptions, 'failuresPerKey' | 'failuresPerAddress' | 'backoffMaxMs'> = {
  backoffBaseMs: 1000,
  forgetAfterMs: 15 * 60_000,
  trustForMs: 24 * 3600_000,
  maxEntries: 10_000,
};

export type ThrottleDecision = { allowed: true } | { allowed: false; by: 'key' | 'address'; retryAfterMs: number };

interface Failures {
  count: number;
  last: number;
  lockedUntil: number;
}

/** A Map that forgets its least recently touched entry when full. */
function boundedMap<V>(max: number) {
  const map = new Map<string, V>();
  return {
    get: (k: string) => map.get(k),
    set(k: string, v: V) {
      map.delete(k);
      map.set(k, v);
      if (map.size > max) map.delete(map.keys().next().value!);
    },
    delete: (k: string) => void map.delete(k),
  };
}

/**
 * Backoff for failed device logins, per external key and per source address, in the
 * emulator's time. While a key or address is backing off its logins are refused without
 * looking at the credentials, so a password can be tried only once per backoff period.
 * A device that logged in from an address before is exempt from that address's backoff
 * (not from its key's), so one misbehaving client does not lock out its neighbours.
 */
export function createLoginThrottle(clock: Clock, opts: LoginThrottleOptions) {
  const keys = boundedMap<Failures>(opts.maxEntries);
  const addresses = boundedMap<Failures>(opts.maxEntries);
  const trusted = boundedMap<number>(opts.maxEntries);
  const pair = (address: string, key: string) => `${address}\n${key}`;

  function locked(table: ReturnType<typeof boundedMap<Failures>>, id: string, now: number): number {
    const f = table.get(id);
    return f && f.lockedUntil > now ? f.lockedUntil - now : 0;
  }

  function fail(table: ReturnType<typeof boundedMap<Failures>>, id: string, free: number, now: number): void {
    const prior = table.get(id);
    const count = prior && now - prior.last < opts.forgetAfterMs ? prior.count + 1 : 1;
    const over = count - free;
    // 2^over grows past any sane maximum long before it overflows; cap the exponent anyway.
    const backoff = over > 0 ? Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** Math.min(over - 1, 40)) : 0;
    table.set(id, { count, last: now, lockedUntil: backoff ? now + backoff : 0 });
  }

  return {
    check(address: string, key: string): ThrottleDecision {
      const now = clock.now();
      const byKey = locked(keys, key, now);
      if (byKey) return { allowed: false, by: 'key', retryAfterMs: byKey };
      const byAddress = locked(addresses, address, now);
      const since = trusted.get(pair(address, key));
      const isTrusted = since !== undefined && now - since < opts.trustForMs;
      if (byAddress && !isTrusted) return { allowed: false, by: 'address', retryAfterMs: byAddress };
      return { allowed: true };
    },
    failed(address: string, key: string): void {
      const now = clock.now();
      fail(keys, key, opts.failuresPerKey, now);
      fail(addresses, address, opts.failuresPerAddress, now);
    },
    /** A good login clears its key's failures; the address's stay, or a valid device could launder them. */
    succeeded(address: string, key: string): void {
      keys.delete(key);
      trusted.set(pair(address, key), clock.now());
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
