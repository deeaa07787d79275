import { isIP, isIPv4 } from 'node:net';
import { join } from 'node:path';
import { X509Certificate as NodeX509, type webcrypto } from 'node:crypto';
import { assertWritable, checkCertsDir, FILES, writeCertsFiles, type CertsDirState } from './certs-dir.js';
import { x509 } from './x509.js';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface TlsMaterial {
  caFile: string;
  ca: string;
  cert: string;
  key: string;
}

export { FILES } from './certs-dir.js';

/**
 * Checks the certs directory (certs-dir.ts) for these host names before anything is
 * written anywhere: besides what checkCertsDir refuses, a directory that is not writable
 * while the server certificate must be issued (again) for them.
 */
export function checkCertificates(dir: string, hosts: string[]): CertsDirState {
  const state = checkCertsDir(dir);
  const why = reissueReason(state, namesFor(hosts));
  if (why) assertWritable(state.dir, why);
  return state;
}

/**
 * Returns the local CA and a server certificate whose SANs cover every name devices
 * may use. Existing files are reused; the server certificate is re-issued from the same
 * CA only when a name is missing, it is about to expire or it is damaged, so a CA file
 * already handed to clients stays valid. `state` is the directory as checked at start; a
 * directory it cannot use is a CertsDirError, with nothing written.
 */
export async function ensureCertificates(dir: string, hosts: string[], state: CertsDirState = checkCertsDir(dir)): Promise<TlsMaterial> {
  const names = namesFor(hosts);
  let { ca, server } = state;
  const why = reissueReason(state, names);
  if (!ca) {
    const issued = await issue(names);
    writeCertsFiles(
      state.dir,
      [
        { name: FILES.caKey, text: issued.caKey, secret: true },
        { name: FILES.ca, text: issued.ca },
        { name: FILES.key, text: issued.key, secret: true },
        { name: FILES.cert, text: issued.cert },
      ],
      why!,
    );
    ca = { cert: issued.ca, key: issued.caKey };
    server = { cert: issued.cert, key: issued.key };
  } else if (why || !server) {
    const issued = await issue(names, { ca: ca.cert, caKey: ca.key });
    writeCertsFiles(
      state.dir,
      [
        { name: FILES.key, text: issued.key, secret: true },
        { name: FILES.cert, text: issued.cert },
      ],
      why ?? 'has no usable server certificate',
    );
    server = { cert: issued.cert, key: issued.key };
  }
  return { caFile: join(state.dir, FILES.ca), ca: ca.cert, cert: server.cert, key: server.key };
}

const namesFor = (hosts: string[]) => [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])];

/** Why files must be written for these names (as the end of "the certs directory … <why>"), or null. */
function reissueReason(state: CertsDirState, names: string[]): string | null {
  if (!state.ca) return 'has no CA yet';
  if (!state.server) return 'has no usable server certificate (it is missing or damaged, or not of this CA)';
  if (!serverCertCovers(state.server.cert, names)) return `has a server certificate that must be issued again (to cover ${names.join(', ')} and be valid a week ahead)`;
  return null;
}

function serverCertCovers(pem: string, names: string[]): boolean {
  const cert = new NodeX509(pem);
  const weekAhead = Date.now() + 7 * 24 * 3600 * 1000;
  if (new Date(cert.validTo).getTime() < weekAhead) return false;
  return names.every((name) => {
    if (isAddress(name)) return coversAddress(cert, name);
    // A wildcard is covered when a name it stands for is: checkHost takes names, not patterns.
    const probe = name.startsWith('*.') ? `x${name.slice(1)}` : name;
    return cert.checkHost(probe) !== undefined;
  });
}

/**
 * An IPv6 address has a colon and a DNS name never has: `isIP` would compile Node's IPv6
 * pattern (about 5 ms, once per process) only to say so of `localhost`, at every first start.
 */
const isAddress = (name: string) => name.includes(':') || isIPv4(name);

function coversAddress(cert: NodeX509, address: string): boolean {
  try {
    return cert.checkIP(address) !== undefined;
  } catch {
    // Not an address after all (checkIP refuses it): no certificate covers it.
    return false;
  }
}

interface Issued {
  ca: string;
  caKey: string;
  cert: string;
  key: string;
}

export const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function issue(names: string[], existing?: { ca: string; caKey: string }): Promise<Issued> {
  const x = await x509();
  const { subtle } = globalThis.crypto;
  x.cryptoProvider.set(globalThis.crypto);
  const now = new Date(Date.now() - 60_000);
  const years = (n: number) => new Date(now.getTime() + n * 365 * 24 * 3600 * 1000);

  let caCert: InstanceType<typeof x.X509Certificate>;
  let caKeys: CryptoKeyPair;
  if (existing) {
    caCert = new x.X509Certificate(existing.ca);
    const privateKey = await subtle.importKey('pkcs8', pemBody(existing.caKey), EC, true, ['sign']);
    caKeys = { privateKey, publicKey: await caCert.publicKey.export(EC, ['verify']) };
  } else {
    caKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    caCert = await x.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=oci-iot-emulator local CA',
      notBefore: now,
      notAfter: years(10),
      keys: caKeys,
      signingAlgorithm: SIGN,
      extensions: [
        new x.BasicConstraintsExtension(true, 0, true),
        new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
        await x.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
  }

  const serverKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const serverCert = await x.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=oci-iot-emulator',
    issuer: caCert.subject,
    notBefore: now,
    notAfter: years(2),
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: SIGN,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature | x.KeyUsageFlags.keyAgreement, true),
      new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.serverAuth]),
      new x.SubjectAlternativeNameExtension(
        names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })),
      ),
      await x.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });

  return {
    ca: caCert.toString('pem'),
    caKey: existing?.caKey ?? toPem(await subtle.exportKey('pkcs8', caKeys.privateKey), 'PRIVATE KEY'),
    cert: serverCert.toString('pem'),
    key: toPem(await subtle.exportKey('pkcs8', serverKeys.privateKey), 'PRIVATE KEY'),
  };
}

export function serial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

export function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

export function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
