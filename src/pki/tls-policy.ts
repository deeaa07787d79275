import type { TlsOptions } from 'node:tls';
import type { TlsMaterial } from './certificates.js';

/** Every TLS listener of the emulator refuses TLS 1.0 and 1.1. */
export const TLS_MIN_VERSION = 'TLSv1.2' as const;

/**
 * The device listener: TLS 1.2+, and a client certificate asked for but not required,
 * so password devices and mTLS devices share port 8883. Whether a presented certificate
 * is acceptable is decided at login (see broker/certificate-login.ts), not by OpenSSL,
 * because validity follows the emulator's clock.
 */
export function deviceTlsOptions(tls: TlsMaterial, handshakeTimeoutMs: number): TlsOptions {
  return {
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    minVersion: TLS_MIN_VERSION,
    requestCert: true,
    rejectUnauthorized: false,
    handshakeTimeout: handshakeTimeoutMs,
  };
}
