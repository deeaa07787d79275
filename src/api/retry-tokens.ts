import { createHash } from 'node:crypto';
import type { Clock } from '../clock/clock.js';
import { conflict } from '../errors.js';

/** OCI keeps an opc-retry-token for 24 hours. */
const TTL_MS = 24 * 3600 * 1000;

export interface RetryTokens {
  /**
   * Runs `create` once per token: a repeat with the same body gets the id the first call
   * made, without creating again; a repeat with another body is 409 InvalidatedRetryToken.
   * Without a token, `create` simply runs.
   */
  once(token: string | undefined, body: unknown, create: () => string): { id: string; replayed: boolean };
}

/**
 * opc-retry-token for create operations. The SDKs add a token to every create and resend
 * it when they retry after a lost response, so honouring it is what keeps a retried
 * create from making a second resource (or failing on its own externalKey). Tokens live in
 * memory: they matter for the seconds a retry takes, not across restarts. (Commands keep
 * theirs in SQLite, see commands/engine.ts.)
 */
export function retryTokens(clock: Clock): RetryTokens {
  // Insertion order is time order, so expired tokens are always at the front.
  const seen = new Map<string, { fingerprint: string; id: string; at: number }>();
  return {
    once(token, body, create) {
      if (!token) return { id: create(), replayed: false };
      const now = clock.now();
      for (const [key, entry] of seen) {
        if (entry.at + TTL_MS > now) break;
        seen.delete(key);
      }
      const fingerprint = createHash('sha256').update(JSON.stringify(body ?? null)).digest('hex');
      const prior = seen.get(token);
      if (prior) {
        if (prior.fingerprint !== fingerprint) {
          throw conflict(`opc-retry-token ${token} was already used for a different request`, 'InvalidatedRetryToken');
        }
        return { id: prior.id, replayed: true };
      }
      const id = create();
      seen.set(token, { fingerprint, id, at: now });
      return { id, replayed: false };
    },
  };
}
