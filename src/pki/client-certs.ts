import { X509Certificate as NodeX509, type webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EC, FILES, pemBody, serial, SIGN, toPem } from './certificates.js';
import { x509 } from './x509.js';

export interface IssuedClientCertificate {
  certificatePem: string;
  privateKeyPem: string;
  caCertificatePem: string;
  serialNumber: string;
  /** As node:crypto's X509Certificate.fingerprint256 gives it, so a peer certificate can be looked up by it. */
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Issues a device certificate (ECDSA P-256, clientAuth) from the emulator's CA in
 * `certsDir`. Validity runs from `now` in the emulator's time, so a manual clock can
 * make it expire.
 */
export async function issueClientCertificate(
  certsDir: string,
  commonName: string,
  validity: { now: number; ms: number },
): Promise<IssuedClientCertificate> {
  const x = await x509();
  const { subtle } = globalThis.crypto;
  x.cryptoProvider.set(globalThis.crypto);
  const caPem = readFileSync(join(certsDir, FILES.ca), 'utf8');
  const caCert = new x.X509Certificate(caPem);
  const caKey = await subtle.importKey('pkcs8', pemBody(readFileSync(join(certsDir, FILES.caKey), 'utf8')), EC, false, ['sign']);
  const keys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  // X.509 times have one-second resolution; whole seconds keep the stored times exact.
  const notBefore = new Date(Math.floor(validity.now / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + validity.ms);
  const serialNumber = serial();
  const cert = await x.X509CertificateGenerator.create({
    serialNumber,
    subject: new x.Name(subjectWithCommonName(commonName)),
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGN,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature, true),
      new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.clientAuth]),
      await x.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const certificatePem = cert.toString('pem');
  return {
    certificatePem,
    privateKeyPem: toPem(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'),
    caCertificatePem: caPem,
    serialNumber,
    fingerprintSha256: new NodeX509(certificatePem).fingerprint256,
    notBefore,
    notAfter,
  };
}

/** DER tag-length-value. */
function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

/**
 * The DER of a Name holding one CN (OID 2.5.4.3) as a UTF8String. Built by hand because
 * the library's string and JSON name forms give meaning to characters (a leading '#' is
 * hex, quotes and commas are syntax), and an externalKey may contain any of them.
 */
function subjectWithCommonName(commonName: string): Buffer {
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);
  const value = tlv(0x0c, Buffer.from(commonName, 'utf8'));
  return tlv(0x30, tlv(0x31, tlv(0x30, Buffer.concat([oid, value]))));
}
