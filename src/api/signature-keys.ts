import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { ConfigError } from '../config.js';

/** The public keys the emulator accepts signatures from, looked up by a signature's keyId. */
export interface SignatureKeys {
  lookup(keyId: string): KeyObject | undefined;
  /** How many keys were loaded, for the start-up log. */
  readonly size: number;
}

/**
 * OCI's API key fingerprint: MD5 of the DER-encoded public key, as colon-separated hex
 * (what the Console shows and `openssl rsa -pubout -outform DER | openssl md5 -c` prints).
 */
export function keyFingerprint(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('md5').update(der).digest('hex').match(/../g)!.join(':');
}

function publicKey(pem: string, where: string): KeyObject {
  try {
    // A private key is accepted too: users often have only ~/.oci/oci_api_key.pem at hand.
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`is a ${key.asymmetricKeyType} key; OCI signs with RSA`);
    return key;
  } catch (err) {
    throw new ConfigError(`--signature-keys: ${where} is not a PEM RSA key (${(err as Error).message})`);
  }
}

/**
 * Loads keys from `path`, in one of two documented forms:
 * - a `.json` file `{"<tenancy>/<user>/<fingerprint>": "<PEM>"}`: each keyId maps to its key exactly;
 * - a PEM file, or a directory of `*.pem` files: a signature is checked against the key
 *   whose fingerprint is the last segment of its keyId (`<tenancy>/<user>/<fingerprint>`),
 *   whatever tenancy and user it names, as OCI finds an API key by its fingerprint.
 */
export function loadSignatureKeys(path: string): SignatureKeys {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new ConfigError(`--signature-keys: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (stat.isFile() && extname(path).toLowerCase() === '.json') return byKeyId(path);
  const files = stat.isDirectory()
    ? readdirSync(path)
        .filter((f) => extname(f).toLowerCase() === '.pem')
        .sort()
        .map((f) => join(path, f))
    : [path];
  const byFingerprint = new Map<string, KeyObject>();
  for (const file of files) {
    const key = publicKey(readFileSync(file, 'utf8'), basename(file));
    byFingerprint.set(keyFingerprint(key), key);
  }
  if (byFingerprint.size === 0) throw new ConfigError(`--signature-keys: no *.pem files in ${path}`);
  return {
    size: byFingerprint.size,
    lookup: (keyId) => byFingerprint.get(keyId.slice(keyId.lastIndexOf('/') + 1)),
  };
}

function byKeyId(file: string): SignatureKeys {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`--signature-keys: ${file} is not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--signature-keys: ${file} must be a JSON object {"<keyId>": "<PEM>"}`);
  }
  const keys = new Map<string, KeyObject>();
  for (const [keyId, pem] of Object.entries(parsed)) {
    if (typeof pem !== 'string') throw new ConfigError(`--signature-keys: the value for ${keyId} in ${file} must be a PEM string`);
    keys.set(keyId, publicKey(pem, `the key for ${keyId} in ${basename(file)}`));
  }
  if (keys.size === 0) throw new ConfigError(`--signature-keys: ${file} has no keys`);
  return { size: keys.size, lookup: (keyId) => keys.get(keyId) };
}
