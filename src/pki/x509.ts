/**
 * @peculiar/x509, loaded lazily: certificate generation happens once, and start-up should not
 * pay for it. A module of its own so that the modules whose types the package exports
 * (certificates.ts, through the broker's TLS material) do not name the library's types, which
 * the bundled index.d.ts could not carry (they need the DOM's WebCrypto types).
 */
export async function x509() {
  await import('reflect-metadata');
  return import('@peculiar/x509');
}
