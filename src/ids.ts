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

export function requestId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}
