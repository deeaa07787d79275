/**
 * mTLS device logins over real TLS with MQTT.js: certificates issued by the emulator CA
 * (REST and CLI), CN = externalKey, no password; expired, revoked and foreign ones refused;
 * password devices on the same port unaffected.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});

interface Issued {
  id: string;
  certificatePem: string;
  privateKeyPem: string;
  caCertificatePem: string;
}

let counter = 0;
const newKey = () => `mtls-device-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

async function issue(commonName: string, validity?: string, on = t): Promise<Issued> {
  const res = await on.rest('POST', '/emulator/certificates', { commonName, ...(validity ? { validity } : {}) });
  expect(res.status).toBe(200);
  return res.body as Issued;
}

async function certDevice(fields: Record<string, unknown> = {}) {
  const externalKey = newKey();
  const cert = await issue(externalKey);
  const inst = await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey, authId: cert.id, ...fields });
  expect(inst.status).toBe(200);
  return { instanceId: inst.body.id as string, externalKey, cert };
}

/** Connects with a client certificate; the CONNACK outcome instead of an exception. */
async function tryCert(cert: { certificatePem: string; privateKeyPem: string }, opts: mqtt.IClientOptions = {}) {
  const client = mqtt.connect(`mqtts://localhost:${t.emu.mqttPort}`, {
    ca: t.emu.ca,
    cert: cert.certificatePem,
    key: cert.privateKeyPem,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed without CONNACK')));
    });
    return { ok: true as const, client };
  } catch (err) {
    client.end(true);
    return { ok: false as const, code: (err as { code?: number }).code };
  }
}
/** Resolves on 'close' even when an 'error' (a reset) comes first. */
const closeOf = (client: mqtt.MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));

describe('issuing', () => {
  it('POST /emulator/certificates returns the certificate, its key once, the CA, and an OCID; GET shows it without the key', async () => {
    const cert = await issue('some-device');
    expect(cert.id).toMatch(/^ocid1\.certificate\.oc1\./);
    expect(cert.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(cert.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(cert.caCertificatePem).toBe(t.emu.ca);
    const got = await t.rest('GET', `/emulator/certificates/${cert.id}`);
    expect(got.body).toMatchObject({ id: cert.id, commonName: 'some-device', lifecycleState: 'ACTIVE', certificatePem: cert.certificatePem });
    expect(got.body.privateKeyPem).toBeUndefined();
    expect(t.emu.db.prepare("SELECT count(*) AS n FROM client_certificates WHERE certificate_pem LIKE '%PRIVATE%'").get()).toEqual({ n: 0 });
  });

  it('refuses a bad validity with 400 and stores nothing', async () => {
    const before = t.emu.db.prepare('SELECT count(*) AS n FROM client_certificates').get();
    for (const validity of ['P1Y', 'soon', 'P4000D']) {
      const res = await t.rest('POST', '/emulator/certificates', { commonName: 'x', validity });
      expect(res).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
    }
    expect(t.emu.db.prepare('SELECT count(*) AS n FROM client_certificates').get()).toEqual(before);
  });
});

describe('logging in with a certificate', () => {
  it('a device with its certificate logs in without a password, gets its commands and its publishes are its own', async () => {
    const d = await certDevice();
    const res = await tryCert(d.cert);
    expect(res.ok).toBe(true);
    const client = (res as { client: mqtt.MqttClient }).client;
    await client.subscribeAsync('/endpoints/1234', { qos: 1 });
    const got = new Promise<Buffer>((resolve) => client.once('message', (_t, payload) => resolve(payload)));
    const id = await t.invoke(d.instanceId, SEED_COMMAND);
    expect((await got).toString()).toBe('{"temp":33}');
    await client.publishAsync('/endpoints/4321', '{"ok":true}', { qos: 1 });
    expect((await t.waitFor(id, 'COMPLETED')).response_data).toBe('{"ok":true}');
    await client.endAsync();
  });

  it('an externalKey full of DN syntax (# , = + " \\ spaces) is the CN exactly, and logs in', async () => {
    const externalKey = `#odd, "key"=+\\ ${newKey()} `;
    const cert = await issue(externalKey);
    const inst = await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey, authId: cert.id });
    expect(inst.status).toBe(200);
    const res = await tryCert(cert, { username: externalKey });
    expect(res.ok).toBe(true);
    if (res.ok) await res.client.endAsync();
  });

  it('the user name may be sent, but only as the CN', async () => {
    const d = await certDevice();
    const same = await tryCert(d.cert, { username: d.externalKey });
    expect(same.ok).toBe(true);
    if (same.ok) await same.client.endAsync();
    const other = await certDevice();
    expect(await tryCert(d.cert, { username: other.externalKey })).toMatchObject({ ok: false, code: 5 });
  });

  it('a certificate whose CN is not the instance’s externalKey is refused', async () => {
    const externalKey = newKey();
    const wrongCn = await issue(`not-${externalKey}`);
    await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey, authId: wrongCn.id });
    expect(await tryCert(wrongCn)).toMatchObject({ ok: false, code: 5 });
  });

  it('a certificate that is not the instance’s authId is refused, even with the right password', async () => {
    const pw = await t.createDevice();
    const cert = await issue(pw.externalKey);
    expect(await tryCert(cert, { username: pw.externalKey, password: pw.password })).toMatchObject({ ok: false, code: 5 });
  });

  it('an expired certificate is refused (validity follows the emulator clock); password devices are unaffected', async () => {
    const externalKey = newKey();
    const cert = await issue(externalKey, 'PT1H');
    await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey, authId: cert.id });
    const before = await tryCert(cert);
    expect(before.ok).toBe(true);
    if (before.ok) await before.client.endAsync();
    t.advance(2 * 3600_000);
    expect(await tryCert(cert)).toMatchObject({ ok: false, code: 5 });
    const pw = await t.createDevice();
    const dev = await t.connect(pw);
    expect(dev.client.connected).toBe(true);
  });

  it('a certificate from another CA with the right CN is refused', async () => {
    const otherCerts = mkdtempSync(join(tmpdir(), 'oci-iot-other-ca-'));
    const other = await startTestEmulator({ certsDir: otherCerts });
    try {
      const d = await certDevice();
      const foreign = await issue(d.externalKey, undefined, other);
      expect(foreign.caCertificatePem).not.toBe(t.emu.ca);
      expect(await tryCert(foreign)).toMatchObject({ ok: false, code: 5 });
      expect(await tryCert(foreign, { username: d.externalKey })).toMatchObject({ ok: false, code: 5 });
    } finally {
      await other.close();
      rmSync(otherCerts, { recursive: true, force: true });
    }
  });
});

describe('revocation', () => {
  it('changing authId closes the live session and revokes the certificate for good', async () => {
    const d = await certDevice();
    const res = await tryCert(d.cert);
    expect(res.ok).toBe(true);
    const closed = closeOf((res as { client: mqtt.MqttClient }).client);
    const secret = await t.rest('POST', '/20180608/secrets', { secretContent: { content: Buffer.from('pw').toString('base64') } });
    expect((await t.rest('PUT', `/20250531/digitalTwinInstances/${d.instanceId}`, { authId: secret.body.id })).status).toBe(200);
    await closed;
    expect(await tryCert(d.cert)).toMatchObject({ ok: false, code: 5 });
    const got = await t.rest('GET', `/emulator/certificates/${d.cert.id}`);
    expect(got.body).toMatchObject({ lifecycleState: 'REVOKED', revocationReason: expect.stringMatching(/authId of .* changed/) });
    // Naming it again is refused: revoked is final.
    const back = await t.rest('PUT', `/20250531/digitalTwinInstances/${d.instanceId}`, { authId: d.cert.id });
    expect(back).toMatchObject({ status: 400, body: { code: 'RelatedResourceNotAuthorizedOrNotFound', message: expect.stringMatching(/revoked/) } });
  });

  it('deleting the instance closes the live session and revokes its certificate', async () => {
    const d = await certDevice();
    const res = await tryCert(d.cert);
    expect(res.ok).toBe(true);
    const closed = closeOf((res as { client: mqtt.MqttClient }).client);
    expect((await t.rest('DELETE', `/20250531/digitalTwinInstances/${d.instanceId}`)).status).toBe(204);
    await closed;
    expect(await tryCert(d.cert)).toMatchObject({ ok: false, code: 5 });
    expect((await t.rest('GET', `/emulator/certificates/${d.cert.id}`)).body.lifecycleState).toBe('REVOKED');
  });
});

describe('oci-iot-emulator cert issue', () => {
  it('writes a certificate and key whose OCID works as authId on the running emulator', async () => {
    const out = mkdtempSync(join(tmpdir(), 'oci-iot-cert-out-'));
    const externalKey = newKey();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'cert', 'issue', '--cn', externalKey, '--validity', 'P30D', '--out', out, '--data-dir', t.dataDir, '--certs-dir', t.emu.config.certsDir],
      { cwd: process.cwd() },
    );
    const id = /issued certificate (\S+)/.exec(stdout)![1];
    expect(id).toMatch(/^ocid1\.certificate\./);
    const inst = await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey, authId: id });
    expect(inst.status).toBe(200);
    const res = await tryCert({ certificatePem: readFileSync(join(out, `${externalKey}.pem`), 'utf8'), privateKeyPem: readFileSync(join(out, `${externalKey}-key.pem`), 'utf8') });
    expect(res.ok).toBe(true);
    if (res.ok) await res.client.endAsync();
    rmSync(out, { recursive: true, force: true });
  });
});
