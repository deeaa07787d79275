/**
 * Clients written for OCI, run unchanged: only HTTPS_PROXY and the CA bundle lead them to the
 * emulator's proxy mode. Oracle's python/manage-dt sample's calls (python3 + requests, as the
 * sample), the script sample's curl calls, and the official oci-iot SDK given a region and
 * no endpoint, each in its own process.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
const REGION = 'us-ashburn-1';
const IDENTITY = 'idcs-0123456789abcdef0123456789abcdef.identity.oraclecloud.com';

let t: TestEmulator;
let device: Awaited<ReturnType<TestEmulator['createDevice']>>;
/** The environment a user sets: the proxy and the CA bundle, and nothing that names the emulator. */
let env: NodeJS.ProcessEnv;

/** A python3 that has `requests` (Debian's python3-requests, which .ci/run installs). */
async function python(): Promise<string> {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const ok = await run(candidate, ['-c', 'import requests']).then(() => true, () => false);
    if (ok) return candidate;
  }
  throw new Error('no python3 with the requests module: apt-get install python3-requests');
}

beforeAll(async () => {
  t = await startTestEmulator({ region: REGION, proxyPort: 0 });
  // What the sample's README asks for first: ORDS data access with an identity domain.
  const configured = await t.rest('POST', `/20250531/iotDomains/${t.emu.domain.id}/actions/configureDataAccess`, { type: 'ORDS', dbAllowedIdentityDomainHost: IDENTITY });
  expect(configured.status).toBe(202);
  t.advance(1000);
  device = await t.createDevice({ externalKey: 'm5-env-01', password: 's3cret' });
  const d = await t.connect(device);
  await d.client.publishAsync('iot/v1/m5', '{"temperature":21.5}', { qos: 1 });
  await d.close();
  const { HTTPS_PROXY, https_proxy, NO_PROXY, no_proxy, HTTP_PROXY, http_proxy, ...rest } = process.env;
  void [HTTPS_PROXY, https_proxy, NO_PROXY, no_proxy, HTTP_PROXY, http_proxy];
  env = { ...rest, HTTPS_PROXY: t.emu.proxyUrl!, https_proxy: t.emu.proxyUrl! };
});
afterAll(() => t?.close());

it("runs Oracle's python/manage-dt calls with HTTPS_PROXY and REQUESTS_CA_BUNDLE only", async () => {
  const { stdout } = await run(await python(), [fixture('manage_dt_calls.py'), REGION, t.emu.domain.id, device.instanceId, device.secretId], {
    env: { ...env, REQUESTS_CA_BUNDLE: t.emu.caFile },
  });
  const out = JSON.parse(stdout);
  const groupShort = (await t.rest('GET', `/20250531/iotDomainGroups/${t.emu.domain.groupId}`)).body.dataHost.split('.')[0];
  // In proxy mode the hosts are OCI's own, the short ids first.
  expect(out.iot_data_endpoint).toBe(`https://${groupShort}.data.iot.${REGION}.oci.oraclecloud.com/ords/${t.emu.domain.shortId}/20250531`);
  expect(out.oauth_endpoint).toBe(`https://${IDENTITY}/oauth2/v1/token`);
  expect(out.token).toEqual({ token_type: 'Bearer', expires_in: 3600 });
  expect(out.create_status).toBe(200);
  expect(out.delete_status).toBe(204);
  expect(out.raw).toHaveLength(1);
  expect(out.raw[0]).toMatchObject({ digital_twin_instance_id: device.instanceId, endpoint: 'iot/v1/m5' });
  expect(out.raw[0].payload).toEqual(expect.anything());
  expect(out.historized).toEqual([]);
  expect(out.rejected).toEqual([]);
  expect(out.raw_commands).toEqual([]);
});

it("runs the script sample's curl calls (token, then the data API) with HTTPS_PROXY and CURL_CA_BUNDLE only", async () => {
  const curlEnv = { ...env, CURL_CA_BUNDLE: t.emu.caFile };
  const groupShort = (await t.rest('GET', `/20250531/iotDomainGroups/${t.emu.domain.groupId}`)).body.dataHost.split('.')[0];
  const token = await run('curl', ['-s', '--fail', '--location', `https://${IDENTITY}/oauth2/v1/token`,
    '--header', 'Content-Type: application/x-www-form-urlencoded',
    '--user', 'app-client-id:app-client-secret',
    '--data-urlencode', `scope=/${groupShort}/iot/${t.emu.domain.shortId}`,
    '--data-urlencode', 'grant_type=password', '--data-urlencode', 'username=me', '--data-urlencode', 'password=pw'], { env: curlEnv });
  const accessToken = JSON.parse(token.stdout).access_token as string;
  const { stdout } = await run('curl', ['-s', '--fail', '--get',
    `https://${groupShort}.data.iot.${REGION}.oci.oraclecloud.com/ords/${t.emu.domain.shortId}/20250531/rawData`,
    '--header', `Authorization: Bearer ${accessToken}`,
    '--data-urlencode', `q={"digital_twin_instance_id":"${device.instanceId}"}`], { env: curlEnv });
  expect(JSON.parse(stdout).items).toHaveLength(1);
  // The proxy tunnels nothing else: curl to any other host through it is refused at CONNECT.
  const elsewhere = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_connect}', 'https://example.com/'], { env: curlEnv }).catch((e: { stdout: string }) => e);
  expect(elsewhere.stdout).toBe('403');
});

it('reaches the official oci-iot SDK given only a region: HTTPS_PROXY, NODE_EXTRA_CA_CERTS, and (Node 20) an env-proxy dispatcher', async () => {
  const { stdout } = await run(process.execPath, [fixture('sdk-by-region.mjs'), t.emu.domain.id], {
    env: { ...env, NODE_EXTRA_CA_CERTS: t.emu.caFile, NODE_OPTIONS: `--import=${fixture('env-proxy.mjs')}` },
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  expect(JSON.parse(stdout)).toEqual({
    endpoint: `https://iot.${REGION}.oci.oraclecloud.com/20250531`,
    id: t.emu.domain.id,
    deviceHost: `${t.emu.domain.shortId}.device.iot.${REGION}.oci.oraclecloud.com`,
  });
});
