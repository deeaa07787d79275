import { accessSync, constants, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ensureDirectory, errnoReason, permissionDenied, StartError } from '../errors.js';

/** A certs directory or file the emulator cannot start on; the message says which and what to do. */
export class CertsDirError extends StartError {}

export const FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  cert: 'server.pem',
  key: 'server-key.pem',
} as const;

type FileName = (typeof FILES)[keyof typeof FILES];

/** What a certs directory holds, checked: the CA usable as it is, the server pair only if it parses and matches. */
export interface CertsDirState {
  dir: string;
  ca: { cert: string; key: string } | null;
  server: { cert: string; key: string } | null;
}

const reason = errnoReason;

const NEW_CA = `move ca.pem and ca-key.pem away so that a new CA is made (devices must then trust the new ca.pem), or give another --certs-dir`;

/**
 * Checks the certs directory before anything is written, to it or to the data directory,
 * so that one the emulator cannot use is refused with one line naming the file and the
 * remedy, and nothing is changed. Created if missing; every file of the emulator's in it
 * must be a readable regular file; the CA certificate and key must both be there or both
 * be missing (a new CA is made only when neither is, so a CA already handed to devices is
 * never replaced), must parse and must match. A damaged server certificate or key is only
 * noted: it is issued again from the CA. With no CA yet, the directory must be writable.
 */
export function checkCertsDir(certsDir: string): CertsDirState {
  const dir = resolve(certsDir);
  ensureDirectory(dir, 'certs directory', '--certs-dir', (m) => new CertsDirError(m));
  const read = (name: FileName): string | null => {
    const file = join(dir, name);
    let isFile: boolean;
    try {
      isFile = statSync(file).isFile();
    } catch {
      return null;
    }
    if (!isFile) throw new CertsDirError(`${file} is not a regular file: move it away`);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new CertsDirError(`${file} cannot be read (${reason(err)}): give the emulator's user read access to it (chmod u+r or chown), or give another --certs-dir`);
    }
  };
  const caCert = read(FILES.ca);
  const caKey = read(FILES.caKey);
  const serverCert = read(FILES.cert);
  const serverKey = read(FILES.key);

  if (caCert === null && caKey === null) {
    assertWritable(dir, 'has no CA yet');
    return { dir, ca: null, server: null };
  }
  if (caKey === null) {
    throw new CertsDirError(`${join(dir, FILES.ca)} has no key beside it (${FILES.caKey} is missing): put the CA's key back as ${join(dir, FILES.caKey)}, or ${NEW_CA}`);
  }
  if (caCert === null) {
    throw new CertsDirError(`${join(dir, FILES.caKey)} has no certificate beside it (${FILES.ca} is missing): put the CA certificate back as ${join(dir, FILES.ca)}, or ${NEW_CA}`);
  }
  const ca = parseCertificate(caCert);
  if (!ca) throw new CertsDirError(`${join(dir, FILES.ca)} is not a PEM certificate: restore it from a backup, or ${NEW_CA}`);
  const key = parseKey(caKey);
  if (typeof key === 'string') throw new CertsDirError(`${join(dir, FILES.caKey)} ${key}: restore it from a backup, or ${NEW_CA}`);
  if (!ca.checkPrivateKey(key)) throw new CertsDirError(`${join(dir, FILES.caKey)} is not the key of ${join(dir, FILES.ca)}: put the CA's own key there, or ${NEW_CA}`);

  const server = serverCert !== null && serverKey !== null ? parseCertificate(serverCert) : null;
  const serverPrivate = server ? parseKey(serverKey!) : null;
  const serverUsable = server !== null && serverPrivate !== null && typeof serverPrivate !== 'string' && server.checkPrivateKey(serverPrivate) && server.checkIssued(ca);
  return { dir, ca: { cert: caCert, key: caKey }, server: serverUsable ? { cert: serverCert!, key: serverKey! } : null };
}

function parseCertificate(pem: string): X509Certificate | null {
  try {
    return new X509Certificate(pem);
  } catch {
    return null;
  }
}

/** The key, or what is wrong with it: the emulator signs with ECDSA P-256 and reads PKCS#8 PEM. */
function parseKey(pem: string): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    return 'is not a PEM private key';
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return 'is not an ECDSA P-256 key (the emulator signs with P-256)';
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) return 'is not in PKCS#8 form (convert it with `openssl pkcs8 -topk8 -nocrypt`)';
  return key;
}

/** A certs directory that must be written to: refused with one line if it cannot be. */
export function assertWritable(dir: string, why: string): void {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const denied = permissionDenied(err);
    throw new CertsDirError(
      denied
        ? `the certs directory ${dir} is not writable by ${denied.who} (${reason(err)}) and ${why}: ${denied.fix}, or put ca.pem, ca-key.pem, server.pem and server-key.pem in it, or give another with --certs-dir / OCI_IOT_CERTS_DIR`
        : `the certs directory ${dir} is not writable (${reason(err)}) and ${why}: make it writable (for a read-only mount, remount it read-write), or put ca.pem, ca-key.pem, server.pem and server-key.pem in it, or give another --certs-dir`,
    );
  }
}

/**
 * Writes files into the certs directory all or nothing: each to a temporary name first,
 * then renamed over its own, so a failure leaves the directory as it was (a half-written
 * server key beside an old certificate would not serve).
 */
export function writeCertsFiles(dir: string, files: Array<{ name: FileName; text: string; secret?: boolean }>, why: string): void {
  assertWritable(dir, why);
  const temps: string[] = [];
  try {
    for (const f of files) {
      const temp = join(dir, `.${f.name}.${process.pid}.tmp`);
      temps.push(temp);
      writeFileSync(temp, f.text, { mode: f.secret ? 0o600 : 0o644 });
    }
  } catch (err) {
    for (const t of temps) {
      try {
        unlinkSync(t);
      } catch {
        // Never written.
      }
    }
    throw new CertsDirError(`cannot write to the certs directory ${dir} (${reason(err)}), which ${why}: free some space or make it writable, or give another --certs-dir`);
  }
  files.forEach((f, i) => renameSync(temps[i], join(dir, f.name)));
}
