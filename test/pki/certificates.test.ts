import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ensureCertificates } from '../../src/pki/certificates.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oci-iot-certs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('keeps the server certificate while it covers every name (IPv4, IPv6, DNS, wildcard), and re-issues it from the same CA for a new one', async () => {
  const hosts = ['device.example.test', '*.devices.example.test', '10.0.0.7', 'fd00::7'];
  const first = await ensureCertificates(dir, hosts);
  const cert = new X509Certificate(first.cert);
  expect(cert.checkIP('::1')).toBe('::1');
  expect(cert.checkIP('fd00::7')).toBe('fd00::7');
  expect(cert.checkIP('10.0.0.7')).toBe('10.0.0.7');
  expect(cert.checkHost('x.devices.example.test')).toBeDefined();

  expect(await ensureCertificates(dir, hosts)).toEqual(first);

  const more = await ensureCertificates(dir, [...hosts, 'fd00::8']);
  expect(more.ca).toBe(first.ca);
  expect(more.cert).not.toBe(first.cert);
  expect(new X509Certificate(more.cert).checkIP('fd00::8')).toBe('fd00::8');
  expect(readFileSync(join(dir, 'server.pem'), 'utf8')).toBe(more.cert);
});
