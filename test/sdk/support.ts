/**
 * What the SDK conformance suite needs: API keys made on the spot, the official OCI SDK
 * clients pointed at the emulator, and a loopback HTTP proxy that counts (and can drop)
 * what the SDK sends.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import * as common from 'oci-common';
import { IotClient, models as iotModels } from 'oci-iot';
import { SecretsClient } from 'oci-secrets';
import { VaultsClient } from 'oci-vault';
import { afterAll, beforeAll, expect } from 'vitest';
import { keyFingerprint } from '../../src/api/signature-keys.js';
import type { StartOptions } from '../../src/programmatic.js';
import { startTestEmulator, type Device, type TestEmulator } from '../support/harness.js';

export interface ApiKey {
  tenancy: string;
  user: string;
  fingerprint: string;
  /** `<tenancy>/<user>/<fingerprint>`, the keyId the SDK signs with. */
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

let keyCount = 0;

/** A fresh RSA API key, as a user would upload to OCI. */
export function newApiKey(): ApiKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const n = ++keyCount;
  const tenancy = `ocid1.tenancy.oc1..aaaatenancy${n}`;
  const user = `ocid1.user.oc1..aaaauser${n}`;
  const fingerprint = keyFingerprint(createPublicKey(publicKey));
  return { tenancy, user, fingerprint, keyId: `${tenancy}/${user}/${fingerprint}`, privateKeyPem: privateKey, publicKeyPem: publicKey };
}

export function authProvider(key: ApiKey, signAs: Partial<Pick<ApiKey, 'fingerprint'>> = {}): common.SimpleAuthenticationDetailsProvider {
  return new common.SimpleAuthenticationDetailsProvider(
    key.tenancy,
    key.user,
    signAs.fingerprint ?? key.fingerprint,
    key.privateKeyPem,
    null,
  );
}

export interface SdkClients {
  iot: IotClient;
  vaults: VaultsClient;
  secrets: SecretsClient;
}

/** The three clients a device-provisioning back end uses, with only `endpoint` changed. */
export function sdkClients(endpoint: string, provider: common.AuthenticationDetailsProvider): SdkClients {
  const iot = new IotClient({ authenticationDetailsProvider: provider });
  const vaults = new VaultsClient({ authenticationDetailsProvider: provider });
  const secrets = new SecretsClient({ authenticationDetailsProvider: provider });
  iot.endpoint = endpoint;
  vaults.endpoint = endpoint;
  secrets.endpoint = endpoint;
  return { iot, vaults, secrets };
}

/**
 * The OciError classes the service packages throw. Each of them pins its own oci-common,
 * which need not be the copy a top-level `import 'oci-common'` resolves to, so
 * `instanceof` must use the copy next to each package.
 */
const requireHere = createRequire(import.meta.url);
const sdkOciErrors = ['oci-iot', 'oci-vault', 'oci-secrets'].map(
  (pkg) => createRequire(requireHere.resolve(pkg))('oci-common').OciError as typeof common.OciError,
);

/** Awaits a call that must fail, and returns the OciError it failed with. */
export async function ociError(call: Promise<unknown>): Promise<common.OciError> {
  const outcome = await call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected an OciError, got ${JSON.stringify(outcome.value)}`);
  expect(sdkOciErrors.some((OciError) => outcome.error instanceof OciError), `${String(outcome.error)} is an OciError`).toBe(true);
  return outcome.error as common.OciError;
}

/** The default retry policy (attempts and retry conditions) with no back-off wait. */
export const retryWithoutWaiting: common.RetryConfiguration = {
  delayStrategy: new common.FixedTimeDelayStrategy(0),
};

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Proxy {
  url: string;
  requests: SeenRequest[];
  /** Forward the next `n` requests but cut the caller's connection instead of answering. */
  dropResponses(n: number): void;
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of the emulator. It forwards bytes and headers as they
 * are (Host included, so signatures still verify) and can lose a response after the
 * emulator has acted on the request: the network failure the SDK retries.
 */
export async function startProxy(target: string): Promise<Proxy> {
  const upstream = new URL(target);
  const requests: SeenRequest[] = [];
  let drop = 0;
  const server = createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    const dropThis = drop > 0;
    if (dropThis) drop--;
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (reply) => {
        if (dropThis) {
          reply.resume();
          reply.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(reply.statusCode!, reply.headers);
        reply.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    dropResponses: (n) => void (drop = n),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A model's fields and whether each is required, derived from the SDK's own TypeScript
 * type: a shape constant that misses a field, adds one, or gets its marker wrong does
 * not compile.
 */
export type Shape<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? 'optional' : 'required' };

/** An IoT domain as oci-iot declares it, for expectShape. */
export const domainShape: Shape<iotModels.IotDomain> = {
  id: 'required',
  iotDomainGroupId: 'required',
  compartmentId: 'required',
  displayName: 'required',
  description: 'optional',
  deviceHost: 'optional',
  dbAllowListedIdentityGroupNames: 'optional',
  dbAllowedIdentityDomainHost: 'optional',
  dataRetentionPeriodsInDays: 'optional',
  lifecycleState: 'required',
  freeformTags: 'optional',
  definedTags: 'optional',
  systemTags: 'optional',
  timeCreated: 'required',
  timeUpdated: 'optional',
};

/** RFC 3339 with a time zone, as OCI sends times. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Checks a deserialized SDK response against its model: every field it has is one the
 * model declares, every required one is there, and `time*` fields are RFC 3339 strings.
 */
export function expectShape<T extends object>(value: T, shape: Shape<T>): void {
  const fields = shape as Record<string, 'required' | 'optional'>;
  const actual = value as Record<string, unknown>;
  expect(Object.keys(actual).filter((k) => !(k in fields)), 'fields the SDK model does not declare').toEqual([]);
  const missing = Object.entries(fields).filter(([k, need]) => need === 'required' && (actual[k] === undefined || actual[k] === null));
  expect(missing.map(([k]) => k), 'required fields missing').toEqual([]);
  for (const [k, v] of Object.entries(actual)) {
    if (/^time[A-Z]/.test(k) && v !== null && v !== undefined) expect(String(v), k).toMatch(RFC3339);
  }
}

/**
 * Signs a request by hand, the OCI way, independently of the SDK: for requests the SDK
 * would never send (a stale date, a body changed after signing, a short header list).
 */
export function handSign(opts: {
  method: string;
  url: string;
  key: ApiKey;
  body?: string;
  date?: Date;
  /** The signed header list; OCI's full list for the method when omitted. */
  signedHeaders?: string[];
}): Record<string, string> {
  const url = new URL(opts.url);
  const method = opts.method.toUpperCase();
  const body = opts.body ?? '';
  const headers: Record<string, string> = { host: url.host, 'x-date': (opts.date ?? new Date()).toUTCString() };
  const withBody = ['POST', 'PUT', 'PATCH'].includes(method);
  if (withBody) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
    headers['x-content-sha256'] = createHash('sha256').update(body).digest('base64');
  }
  const names = opts.signedHeaders ?? ['x-date', '(request-target)', 'host', ...(withBody ? ['content-length', 'content-type', 'x-content-sha256'] : [])];
  const signingString = names
    .map((n) => (n === '(request-target)' ? `(request-target): ${method.toLowerCase()} ${url.pathname}${url.search}` : `${n}: ${headers[n]}`))
    .join('\n');
  const signature = sign('sha256', Buffer.from(signingString), opts.key.privateKeyPem).toString('base64');
  headers.authorization = `Signature version="1",keyId="${opts.key.keyId}",algorithm="rsa-sha256",headers="${names.join(' ')}",signature="${signature}"`;
  return headers;
}

/** A device provisioned the way a back end does it: a Vault secret, then an instance naming it. */
export async function provisionDevice(
  sdk: SdkClients,
  iotDomainId: string,
  fields: Partial<iotModels.CreateDigitalTwinInstanceDetails> = {},
): Promise<Device> {
  const password = `pw-${randomUUID()}`;
  const { secret } = await sdk.vaults.createSecret({
    createSecretDetails: {
      compartmentId: 'ocid1.compartment.oc1..aaaaexample',
      vaultId: 'ocid1.vault.oc1..aaaavault',
      keyId: 'ocid1.key.oc1..aaaakey',
      secretName: `device-${randomUUID()}`,
      secretContent: { contentType: 'BASE64', content: Buffer.from(password).toString('base64') },
    },
  });
  const { digitalTwinInstance } = await sdk.iot.createDigitalTwinInstance({
    createDigitalTwinInstanceDetails: { iotDomainId, authId: secret.id, ...fields },
  });
  return { instanceId: digitalTwinInstance.id, externalKey: digitalTwinInstance.externalKey!, password, secretId: secret.id };
}

/** The raw_command_data row id a Location header names (its last path segment, as OCI documents). */
export const commandIdOf = (location: string | undefined): number => Number(new URL(location!).pathname.split('/').pop());

/** Fetches what a Location header points at: the command's row on the ORDS data API. */
export async function fetchRow(location: string | undefined): Promise<Record<string, unknown>> {
  const res = await fetch(location!);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * One emulator for a test file and the SDK clients, signing with a fresh API key: started
 * before the file's tests (then `use` is handed both, and may finish the file's own set-up),
 * closed after them. The clients sign with `key` when one is given.
 */
export function sdkSuite(
  use: (started: { t: TestEmulator; sdk: SdkClients }) => void | Promise<void>,
  options: StartOptions = {},
  key?: ApiKey,
): void {
  let t: TestEmulator | undefined;
  beforeAll(async () => {
    t = await startTestEmulator(options);
    await use({ t, sdk: sdkClients(t.emu.restUrl, authProvider(key ?? newApiKey())) });
  });
  afterAll(async () => {
    await t?.close();
  });
}

/** How many rows `raw_command_data` holds: what a refused or faulted call must not have added. */
export const commandRows = (t: TestEmulator): number =>
  (t.emu.db.prepare('SELECT count(*) AS n FROM raw_command_data').get() as { n: number }).n;
