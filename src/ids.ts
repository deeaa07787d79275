import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lower-case base32, the alphabet OCI uses in the unique part of an OCID. */
export function base32(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i] & 31];
  return out;
}

/** `ocid1.<type>.oc1.<region>.<unique>`, the shape OCI gives regional resources. */
export function ocid(resourceType: string, region: string): string {
  return `ocid1.${resourceType}.oc1.${region}.${base32(60)}`;
}

// A random prefix per process and a counter: unique like OCI's 32 hex digits, without a
// crypto-random draw for every HTTP request (profile-before.md: ~1 % of a command's CPU).
const REQUEST_ID_PREFIX = randomBytes(8).toString('hex').toUpperCase();
let requestCounter = 0;

export function requestId(): string {
  requestCounter = (requestCounter + 1) % 0x1_0000_0000_0000;
  return REQUEST_ID_PREFIX + requestCounter.toString(16).toUpperCase().padStart(16, '0');
}
