/**
 * Request signing. Off by default: any request is accepted. With --verify-signatures, an
 * OCI API request needs a valid RSA-SHA256 signature from a configured key, checked with
 * the SDK's real signer and with hand-made headers for what the SDK never sends.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models } from 'oci-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { startEmulator } from '../../src/emulator.js';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';
import { authProvider, handSign, newApiKey, ociError, sdkClients, type ApiKey } from './support.js';

const HOUR = 3600_000;
const alice = newApiKey();
const mallory = newApiKey();

function keyDir(...keys: ApiKey[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'oci-iot-keys-'));
  keys.forEach((k, i) => writeFileSync(join(dir, `key-${i}.pem`), k.publicKeyPem));
  return dir;
}

/** An error body, or a data API row. */
const json = async (res: Response) => (await res.json()) as { code?: string; message?: string; [field: string]: unknown };

const instanceCount = (t: TestEmulator) =>
  (t.emu.db.prepare('SELECT count(*) AS n FROM digital_twin_instances').get() as { n: number }).n;

describe('signature checking off (the default)', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('accepts unsigned requests and requests signed with any key', async () => {
    expect((await fetch(`${t.emu.restUrl}/20250531/iotDomains/${t.emu.domain.id}`)).status).toBe(200);
    const { iot } = sdkClients(t.emu.restUrl, authProvider(mallory));
    expect((await iot.getIotDomain({ iotDomainId: t.emu.domain.id })).iotDomain.id).toBe(t.emu.domain.id);
  });
});

describe('signature checking on, keys from a directory of PEM files', () => {
  let t: TestEmulator;
  const url = (path: string) => t.emu.restUrl + path;
  beforeAll(async () => {
    t = await startTestEmulator({ verifySignatures: true, signatureKeys: keyDir(alice) });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the SDK's signer is accepted for GET, POST, PUT and DELETE", async () => {
    const { iot, vaults, secrets } = sdkClients(t.emu.restUrl, authProvider(alice));
    expect((await iot.getIotDomain({ iotDomainId: t.emu.domain.id })).iotDomain.id).toBe(t.emu.domain.id);
    const { secret } = await vaults.createSecret({
      createSecretDetails: {
        compartmentId: 'ocid1.compartment.oc1..c',
        vaultId: 'ocid1.vault.oc1..v',
        keyId: 'ocid1.key.oc1..k',
        secretName: 'signed',
        secretContent: { contentType: 'BASE64', content: Buffer.from('pw').toString('base64') },
      },
    });
    expect((await secrets.getSecretBundle({ secretId: secret.id })).secretBundle.secretBundleContent?.content).toBe('cHc=');
    const created = await iot.createDigitalTwinInstance({
      createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, authId: secret.id, displayName: 'signed' },
    });
    const updated = await iot.updateDigitalTwinInstance({
      digitalTwinInstanceId: created.digitalTwinInstance.id,
      updateDigitalTwinInstanceDetails: { description: 'put, signed' },
    });
    expect(updated.digitalTwinInstance.description).toBe('put, signed');
    const invoked = await iot.invokeRawCommand({
      digitalTwinInstanceId: created.digitalTwinInstance.id,
      invokeRawCommandDetails: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/x', requestData: 'hello' } as models.InvokeRawTextCommandDetails,
    });
    expect(invoked.location).toMatch(/\/rawCommandData\/\d+$/);
    await iot.deleteDigitalTwinInstance({ digitalTwinInstanceId: created.digitalTwinInstance.id });
    const after = await iot.getDigitalTwinInstance({ digitalTwinInstanceId: created.digitalTwinInstance.id });
    expect(after.digitalTwinInstance.lifecycleState).toBe(models.LifecycleState.Deleted);
    // Who invoked is recorded as the user of the signing key, as OCI's created_by.
    const row = await json(await fetch(invoked.location!));
    expect(row.created_by).toBe(alice.user);
  });

  it('the date is checked against the system clock, so moving the manual clock hours ahead changes nothing', async () => {
    t.advance(6 * HOUR);
    const { iot } = sdkClients(t.emu.restUrl, authProvider(alice));
    expect((await iot.getIotDomain({ iotDomainId: t.emu.domain.id })).iotDomain.id).toBe(t.emu.domain.id);
  });

  it('a key the emulator was not given: 401 NotAuthenticated, and nothing is created', async () => {
    const before = instanceCount(t);
    const { iot } = sdkClients(t.emu.restUrl, authProvider(mallory));
    const err = await ociError(iot.createDigitalTwinInstance({ createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id } }));
    expect(err).toMatchObject({ statusCode: 401, serviceCode: 'NotAuthenticated' });
    expect(err.message).toMatch(/no public key is configured for keyId/);
    expect(instanceCount(t)).toBe(before);
  });

  it("the wrong private key under a configured key's fingerprint: 401, the signature does not verify", async () => {
    const { iot } = sdkClients(t.emu.restUrl, authProvider(mallory, { fingerprint: alice.fingerprint }));
    const err = await ociError(iot.getIotDomain({ iotDomainId: t.emu.domain.id }));
    expect(err).toMatchObject({ statusCode: 401, serviceCode: 'NotAuthenticated' });
    expect(err.message).toMatch(/does not verify/);
  });

  it('an unsigned request, to an existing or unknown path: 401 before anything else', async () => {
    for (const path of [`/20250531/iotDomains/${t.emu.domain.id}`, '/20250531/noSuchThing', '/20180608/secrets/x']) {
      const res = await fetch(url(path));
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ code: 'NotAuthenticated' });
    }
  });

  it('a hand-signed request verifies; the same one with its body changed after signing is 401 and writes nothing', async () => {
    const path = '/20250531/digitalTwinInstances';
    const body = JSON.stringify({ iotDomainId: t.emu.domain.id, displayName: 'by-hand' });
    const headers = handSign({ method: 'POST', url: url(path), key: alice, body });
    const ok = await fetch(url(path), { method: 'POST', headers, body });
    expect(ok.status).toBe(200);
    expect((await json(ok)).displayName).toBe('by-hand');

    const before = instanceCount(t);
    const tampered = body.replace('by-hand', 'by-evil');
    expect(tampered.length).toBe(body.length);
    const res = await fetch(url(path), { method: 'POST', headers: handSign({ method: 'POST', url: url(path), key: alice, body }), body: tampered });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ code: 'NotAuthenticated', message: expect.stringMatching(/x-content-sha256 does not match/) });
    expect(instanceCount(t)).toBe(before);
  });

  it('a date more than 5 minutes old is 401, even with a valid signature', async () => {
    const path = `/20250531/iotDomains/${t.emu.domain.id}`;
    const fresh = handSign({ method: 'GET', url: url(path), key: alice, date: new Date(Date.now() - 4 * 60_000) });
    expect((await fetch(url(path), { headers: fresh })).status).toBe(200);
    const stale = handSign({ method: 'GET', url: url(path), key: alice, date: new Date(Date.now() - 10 * 60_000) });
    const res = await fetch(url(path), { headers: stale });
    expect(res.status).toBe(401);
    expect((await json(res)).message).toMatch(/more than 5 minutes/);
  });

  it('a POST whose signature leaves out the body headers is 401', async () => {
    const path = '/20250531/digitalTwinInstances';
    const body = JSON.stringify({ iotDomainId: t.emu.domain.id });
    const headers = handSign({ method: 'POST', url: url(path), key: alice, body, signedHeaders: ['x-date', '(request-target)', 'host'] });
    const res = await fetch(url(path), { method: 'POST', headers, body });
    expect(res.status).toBe(401);
    expect((await json(res)).message).toMatch(/must cover content-length, content-type, x-content-sha256/);
  });

  it('a signature over another path does not verify for this one', async () => {
    const headers = handSign({ method: 'GET', url: url('/20250531/iotDomainGroups/x'), key: alice });
    const res = await fetch(url(`/20250531/iotDomains/${t.emu.domain.id}`), { headers });
    expect(res.status).toBe(401);
  });

  it('the ORDS data API and /emulator are not OCI-signed, so they stay open', async () => {
    expect((await fetch(url(`/ords/${t.emu.domain.shortId}/20250531/rawCommandData`))).status).toBe(200);
    expect((await fetch(url('/emulator/health'))).status).toBe(200);
  });
});

describe('signature checking on, keys from a JSON file', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'oci-iot-keys-')), 'keys.json');
    writeFileSync(file, JSON.stringify({ [alice.keyId]: alice.publicKeyPem }));
    t = await startTestEmulator({ verifySignatures: true, signatureKeys: file });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('matches the whole keyId: the same key under another user is refused', async () => {
    const ok = sdkClients(t.emu.restUrl, authProvider(alice));
    expect((await ok.iot.getIotDomain({ iotDomainId: t.emu.domain.id })).iotDomain.id).toBe(t.emu.domain.id);
    const otherUser = { ...alice, user: 'ocid1.user.oc1..someoneelse' };
    const refused = sdkClients(t.emu.restUrl, authProvider(otherUser));
    expect(await ociError(refused.iot.getIotDomain({ iotDomainId: t.emu.domain.id }))).toMatchObject({
      statusCode: 401,
      serviceCode: 'NotAuthenticated',
    });
  });
});

describe('signature options', () => {
  it('--verify-signatures without keys, or with keys that cannot be read, stops the start with a clear error', async () => {
    const certsDir = mkdtempSync(join(tmpdir(), 'oci-iot-certs-'));
    const base = { restPort: 0, mqttPort: 0, httpsPort: 0, dataDir: ':memory:', certsDir, logLevel: 'silent' as const, verifySignatures: true };
    await expect(startEmulator(base)).rejects.toThrow(ConfigError);
    await expect(startEmulator(base)).rejects.toThrow(/needs the public keys/);
    await expect(startEmulator({ ...base, signatureKeys: join(tmpdir(), 'no-such-keys-dir') })).rejects.toThrow(/cannot read/);
    const notPem = join(mkdtempSync(join(tmpdir(), 'oci-iot-keys-')), 'junk.pem');
    writeFileSync(notPem, 'not a key');
    await expect(startEmulator({ ...base, signatureKeys: notPem })).rejects.toThrow(/junk\.pem is not a PEM RSA key/);
  });

  it('OCI_IOT_VERIFY_SIGNATURES and OCI_IOT_SIGNATURE_KEYS switch it on from the environment', async () => {
    const t = await startTestEmulator({ env: { OCI_IOT_VERIFY_SIGNATURES: 'true', OCI_IOT_SIGNATURE_KEYS: keyDir(alice) } });
    try {
      expect((await fetch(`${t.emu.restUrl}/20250531/iotDomains/${t.emu.domain.id}`)).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});
