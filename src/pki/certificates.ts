import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP, isIPv4 } from 'node:net';
import { join } from 'node:path';
import { X509Certificate as NodeX509, type webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface TlsMaterial {
  caFile: string;
  ca: string;
  cert: string;
  key: string;
}

export const FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  cert: 'server.pem',
  key: 'server-key.pem',
} as const;

/**
 * Returns the local CA and a server certificate whose SANs cover every name devices
 * may use. Existing files are reused; the server certificate is re-issued from the same
 * CA only when a name is missing or it is about to expire, so a CA file already handed
 * to clients stays valid.
 */
export async function ensureCertificates(dir: string, hosts: string[]): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true });
  const path = (name: string) => join(dir, name);
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])];

  if (!existsSync(path(FILES.ca)) || !existsSync(path(FILES.caKey))) {
    const issued = await issue(names);
    writeFileSync(path(FILES.caKey), issued.caKey, { mode: 0o600 });
    writeFileSync(path(FILES.ca), issued.ca);
    writeFileSync(path(FILES.key), issued.key, { mode: 0o600 });
    writeFileSync(path(FILES.cert), issued.cert);
  } else if (!existsSync(path(FILES.cert)) || !serverCertCovers(readFileSync(path(FILES.cert), 'utf8'), names)) {
    const issued = await issue(names, {
      ca: readFileSync(path(FILES.ca), 'utf8'),
      caKey: readFileSync(path(FILES.caKey), 'utf8'),
    });
    writeFileSync(path(FILES.key), issued.key, { mode: 0o600 });
    writeFileSync(path(FILES.cert), issued.cert);
  }
  return {
    caFile: path(FILES.ca),
    ca: readFileSync(path(FILES.ca), 'utf8'),
    cert: readFileSync(path(FILES.cert), 'utf8'),
    key: readFileSync(path(FILES.key), 'utf8'),
  };
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

/** Loaded lazily: certificate generation happens once, and start-up should not pay for it. */
export async function x509() {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

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
