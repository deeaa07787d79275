import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock/clock.js';

/** How long a token lives: an identity domain's default for a confidential application. */
export const TOKEN_LIFETIME_S = 3600;

export interface TokenClaims {
  iss: string;
  sub: string;
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Bearer tokens as an identity domain issues them for the data API: JWTs (HS256 here, so
 * the emulator alone can check them), their expiry on the emulator's clock. The key is
 * kept with the data, so tokens stay good across a restart, as a real identity domain's do.
 */
export function oauthTokens(deps: { clock: Clock; key: () => string }) {
  let key: Buffer | undefined;
  const signature = (signed: string) => createHmac('sha256', (key ??= Buffer.from(deps.key(), 'base64url'))).update(signed).digest();

  return {
    issue(claims: { issuer: string; subject: string; clientId: string; scope: string }): { access_token: string; token_type: 'Bearer'; expires_in: number } {
      const iat = Math.floor(deps.clock.now() / 1000);
      const body: TokenClaims = { iss: claims.issuer, sub: claims.subject, client_id: claims.clientId, scope: claims.scope, iat, exp: iat + TOKEN_LIFETIME_S, jti: randomUUID() };
      const signed = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(body)}`;
      return { access_token: `${signed}.${signature(signed).toString('base64url')}`, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S };
    },
    /** Why a token is not one this emulator issued and still good, or null when it is. */
    refusal(token: string): string | null {
      const parts = token.split('.');
      if (parts.length !== 3) return 'The bearer token is not one the emulator issued';
      const given = Buffer.from(parts[2], 'base64url');
      const expected = signature(`${parts[0]}.${parts[1]}`);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'The bearer token is not one the emulator issued';
      let claims: Partial<TokenClaims>;
      try {
        claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Partial<TokenClaims>;
      } catch {
        return 'The bearer token is not one the emulator issued';
      }
      if (typeof claims.exp !== 'number' || claims.exp * 1000 <= deps.clock.now()) return 'The bearer token has expired';
      return null;
    },
  };
}

export type OauthTokens = ReturnType<typeof oauthTokens>;

/** A new signing key (base64url), made once per data directory. */
export const newTokenKey = (): string => randomBytes(32).toString('base64url');
