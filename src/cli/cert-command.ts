import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { systemClock } from '../clock/clock.js';
import type { EmulatorConfig } from '../config.js';
import { createClientCertificate } from '../resources/certificates.js';
import { openDatabase } from '../store/database.js';
import { createStore } from '../store/index.js';
import { ensureCertificates } from '../pki/certificates.js';

export interface IssuedFiles {
  id: string;
  commonName: string;
  validTo: string;
  certFile: string;
  keyFile: string;
  caFile: string;
}

/**
 * `oci-iot-emulator cert issue`: the same as POST /emulator/certificates, straight on the
 * emulator's database and CA (creating the CA if the emulator never ran), with the
 * certificate and key written to files. Safe while the emulator runs (SQLite WAL).
 */
export async function issueCertificateFiles(
  config: Pick<EmulatorConfig, 'dataDir' | 'certsDir' | 'region' | 'deviceHost'>,
  commonName: string,
  validity: string | undefined,
  outDir: string,
): Promise<IssuedFiles> {
  const tls = await ensureCertificates(config.certsDir, [config.deviceHost]);
  const db = openDatabase(config.dataDir);
  try {
    const { row, privateKeyPem } = await createClientCertificate(createStore(db), systemClock(), config.region, config.certsDir, { commonName, validity });
    mkdirSync(outDir, { recursive: true });
    // An external key may hold characters a file name should not.
    const base = commonName.replace(/[^A-Za-z0-9._-]/g, '_');
    const certFile = resolve(join(outDir, `${base}.pem`));
    const keyFile = resolve(join(outDir, `${base}-key.pem`));
    writeFileSync(certFile, row.certificate_pem);
    writeFileSync(keyFile, privateKeyPem, { mode: 0o600 });
    return { id: row.id, commonName, validTo: row.time_valid_to, certFile, keyFile, caFile: resolve(tls.caFile) };
  } finally {
    db.close();
  }
}
