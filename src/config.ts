import { parseDuration } from './durations.js';

/** Everything the emulator can be told at start; `startEmulator` takes a partial of it. */
export interface EmulatorConfig {
  /** Address every listener binds to. */
  bindHost: string;
  restPort: number;
  mqttPort: number;
  /** Device HTTPS port (OCI's 443): MQTT over secure WebSockets at /mqtt, and HTTPS POST of telemetry. */
  httpsPort: number;
  /** Directory of the SQLite database; `:memory:` keeps everything in memory. */
  dataDir: string;
  certsDir: string;
  /** Host name the first domain's devices are told to connect to; in the server certificate. */
  deviceHost: string;
  region: string;
  /** Domains get deviceHost `<shortId>.device.<suffix>`, groups dataHost `<shortId>.data.<suffix>`. */
  domainHostSuffix: string;
  /** How long a domain or domain group work request takes, on the emulator's clock. */
  workRequestDuration: string;
  clock: 'system' | 'manual';
  defaultRequestDuration: string;
  defaultResponseDuration: string;
  /** `normal`: a killed process loses nothing; `full`: an fsync per commit, for power loss too. */
  durability: 'normal' | 'full';
  /** Commands one offline device may have waiting; past it new ones are REFUSED. */
  maxPendingPerDevice: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Refuse OCI API requests without a valid OCI signature from one of `signatureKeys`. */
  verifySignatures: boolean;
  /** A .json file {keyId: PEM}, a PEM file, or a directory of *.pem files; '' for none. */
  signatureKeys: string;
  /** Largest MQTT packet (fixed header included) a logged-in device may send, in bytes. */
  mqttMaxPacketSize: number;
  /** Largest packet accepted before the CONNECT is authenticated, in bytes. */
  mqttMaxConnectSize: number;
  /** Time a socket has to finish the TLS handshake and send its CONNECT. */
  mqttConnectTimeout: string;
  /** Largest keepalive (seconds) a device may ask for; 0 is refused too. */
  mqttMaxKeepalive: number;
  /** Time a device has to read what was written to it before it is dropped. */
  mqttDrainTimeout: string;
  /** Unacknowledged QoS 1 commands allowed in flight to one device. */
  mqttMaxInflight: number;
  /** Failed logins for one external key before backoff starts. */
  loginFailuresPerKey: number;
  /** Failed logins from one source address before backoff starts. */
  loginFailuresPerAddress: number;
  /** Longest backoff after repeated failed logins. */
  loginBackoffMax: string;
  /** Time limit of one statement of the `sql` command. */
  sqlTimeout: string;
  /** Time one device message's adapter expressions may take before it is rejected. */
  adapterTimeLimit: string;
  /** Token the console and /emulator/* require; '' = none on loopback, generated at start beyond it. */
  adminToken: string;
  /** An idle keep-alive REST connection is closed this long after its last response. */
  restKeepAliveTimeout: string;
  /** Time a REST connection has to send a request's headers (a silent new connection included). */
  restHeadersTimeout: string;
  /** Time a REST connection has to send a whole request, body included. */
  restRequestTimeout: string;
  /** Open REST connections beyond which a new one is closed at once. */
  restMaxConnections: number;
  /** Open MQTTS connections beyond which a new one is closed at once. */
  mqttMaxConnections: number;
  /** Open connections to the device HTTPS port (WSS and HTTPS POST) beyond which a new one is closed at once. */
  httpsMaxConnections: number;
  /** Run SQLite's full `integrity_check` on the database at start (not only the quick check of a small one). */
  checkDatabase: boolean;
  /** Further Host names the console and /emulator/* answer to (comma-separated), beside localhost, IPs and the device hosts. */
  allowHosts: string;
  /** A seed file, or a directory of them: resources created at start when missing (docs/seed.md); '' for none. */
  seed: string;
  /** `any`: the data API takes any bearer token or none; `required`: only one the token endpoint issued, not expired. */
  dataApiAuth: 'any' | 'required';
  /** Port of the HTTPS proxy mode (HTTP CONNECT to OCI's host names only); null: off. */
  proxyPort: number | null;
}

export interface OptionSpec {
  key: keyof EmulatorConfig;
  flag: string;
  env: string;
  help: string;
  type: 'string' | 'port' | 'optional-port' | 'duration' | 'enum' | 'boolean' | 'integer';
  choices?: readonly string[];
  /** Bounds of an 'integer' option. */
  min?: number;
  max?: number;
}

export const DEFAULTS: EmulatorConfig = {
  bindHost: '127.0.0.1',
  restPort: 8080,
  mqttPort: 8883,
  httpsPort: 8443,
  dataDir: 'data',
  certsDir: 'certs',
  deviceHost: 'localhost',
  region: 'us-ashburn-1',
  domainHostSuffix: 'iot.localhost',
  workRequestDuration: 'PT0.5S',
  clock: 'system',
  defaultRequestDuration: 'PT10M',
  defaultResponseDuration: 'PT10M',
  durability: 'normal',
  maxPendingPerDevice: 1000,
  logLevel: 'info',
  verifySignatures: false,
  signatureKeys: '',
  mqttMaxPacketSize: 512 * 1024,
  mqttMaxConnectSize: 16 * 1024,
  mqttConnectTimeout: 'PT5S',
  mqttMaxKeepalive: 300,
  mqttDrainTimeout: 'PT30S',
  mqttMaxInflight: 20,
  loginFailuresPerKey: 5,
  loginFailuresPerAddress: 20,
  loginBackoffMax: 'PT1M',
  sqlTimeout: 'PT10S',
  adapterTimeLimit: 'PT0.1S',
  adminToken: '',
  allowHosts: '',
  checkDatabase: false,
  restKeepAliveTimeout: 'PT5S',
  restHeadersTimeout: 'PT10S',
  restRequestTimeout: 'PT30S',
  restMaxConnections: 512,
  seed: '',
  dataApiAuth: 'any',
  proxyPort: null,
  mqttMaxConnections: 20_000,
  httpsMaxConnections: 20_000,
};

/** One table drives the CLI flags, the environment variables, `--help` and docs/configuration.md. */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'bindHost', flag: '--bind', env: 'OCI_IOT_BIND', type: 'string', help: 'address every listener binds to (0.0.0.0 to accept other machines)' },
  { key: 'restPort', flag: '--rest-port', env: 'OCI_IOT_REST_PORT', type: 'port', help: 'HTTP port of the REST API (0 = any free port)' },
  { key: 'mqttPort', flag: '--mqtt-port', env: 'OCI_IOT_MQTT_PORT', type: 'port', help: 'MQTTS port for devices (0 = any free port)' },
  { key: 'httpsPort', flag: '--https-port', env: 'OCI_IOT_HTTPS_PORT', type: 'port', help: 'HTTPS port for devices: MQTT over secure WebSockets at /mqtt, and HTTPS POST of telemetry (0 = any free port)' },
  { key: 'dataDir', flag: '--data-dir', env: 'OCI_IOT_DATA_DIR', type: 'string', help: 'directory of the SQLite database emulator.db (:memory: for none)' },
  { key: 'certsDir', flag: '--certs-dir', env: 'OCI_IOT_CERTS_DIR', type: 'string', help: 'directory of the local CA and server certificate' },
  { key: 'deviceHost', flag: '--device-host', env: 'OCI_IOT_DEVICE_HOST', type: 'string', help: "host name the first domain's devices are told to connect to (added to the certificate); a device naming it, or no name, lands on the first domain" },
  { key: 'region', flag: '--region', env: 'OCI_IOT_REGION', type: 'string', help: 'OCI region used in OCIDs' },
  { key: 'domainHostSuffix', flag: '--domain-host-suffix', env: 'OCI_IOT_DOMAIN_HOST_SUFFIX', type: 'string', help: "domains get deviceHost <shortId>.device.<suffix> and groups dataHost <shortId>.data.<suffix> (covered by the certificate; devices are told apart by TLS SNI); iot.<region>.oci.oraclecloud.com in proxy mode unless given" },
  { key: 'workRequestDuration', flag: '--work-request-duration', env: 'OCI_IOT_WORK_REQUEST_DURATION', type: 'duration', help: 'time a domain or domain group create, update or delete takes (its work request), on the emulator clock' },
  { key: 'clock', flag: '--clock', env: 'OCI_IOT_CLOCK', type: 'enum', choices: ['system', 'manual'], help: 'system time, or a manual clock moved with POST /emulator/clock' },
  { key: 'defaultRequestDuration', flag: '--default-request-duration', env: 'OCI_IOT_DEFAULT_REQUEST_DURATION', type: 'duration', help: 'requestDuration when a command omits it' },
  { key: 'defaultResponseDuration', flag: '--default-response-duration', env: 'OCI_IOT_DEFAULT_RESPONSE_DURATION', type: 'duration', help: 'responseDuration when a command omits it' },
  { key: 'durability', flag: '--durability', env: 'OCI_IOT_DURABILITY', type: 'enum', choices: ['normal', 'full'], help: 'normal: a killed process loses nothing (SQLite WAL); full: also survive power loss (fsync per commit, slower)' },
  { key: 'maxPendingPerDevice', flag: '--max-pending-per-device', env: 'OCI_IOT_MAX_PENDING_PER_DEVICE', type: 'integer', min: 1, max: 1_000_000, help: 'commands an offline device may have PENDING; past it new ones are REFUSED' },
  { key: 'logLevel', flag: '--log-level', env: 'OCI_IOT_LOG_LEVEL', type: 'enum', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], help: 'log level' },
  { key: 'verifySignatures', flag: '--verify-signatures', env: 'OCI_IOT_VERIFY_SIGNATURES', type: 'boolean', help: 'accept only OCI API requests signed by a key in --signature-keys (401 NotAuthenticated otherwise)' },
  { key: 'signatureKeys', flag: '--signature-keys', env: 'OCI_IOT_SIGNATURE_KEYS', type: 'string', help: 'public keys for --verify-signatures: a .json file {"<keyId>": "<PEM>"}, or a PEM file or directory of *.pem files matched by the fingerprint in the keyId' },
  { key: 'mqttMaxPacketSize', flag: '--mqtt-max-packet-size', env: 'OCI_IOT_MQTT_MAX_PACKET_SIZE', type: 'integer', min: 1024, max: 268_435_460, help: 'largest MQTT packet a logged-in device may send, in bytes; a bigger one closes the connection' },
  { key: 'mqttMaxConnectSize', flag: '--mqtt-max-connect-size', env: 'OCI_IOT_MQTT_MAX_CONNECT_SIZE', type: 'integer', min: 128, max: 268_435_460, help: 'largest packet accepted before the CONNECT is authenticated, in bytes' },
  { key: 'mqttConnectTimeout', flag: '--mqtt-connect-timeout', env: 'OCI_IOT_MQTT_CONNECT_TIMEOUT', type: 'duration', help: "time a new device socket has to finish TLS, then to send CONNECT (MQTTS, WSS) or a request's headers (HTTPS); an idle keep-alive HTTPS connection is closed this long after its last response" },
  { key: 'mqttMaxKeepalive', flag: '--mqtt-max-keepalive', env: 'OCI_IOT_MQTT_MAX_KEEPALIVE', type: 'integer', min: 1, max: 65535, help: 'largest keepalive in seconds; keepalive 0 or above it gets CONNACK 2' },
  { key: 'mqttDrainTimeout', flag: '--mqtt-drain-timeout', env: 'OCI_IOT_MQTT_DRAIN_TIMEOUT', type: 'duration', help: 'a device that does not read what is written to it within this time is dropped; an HTTPS POST must be sent whole within it (408 after it)' },
  { key: 'mqttMaxInflight', flag: '--mqtt-max-inflight', env: 'OCI_IOT_MQTT_MAX_INFLIGHT', type: 'integer', min: 1, max: 65535, help: 'unacknowledged QoS 1 commands in flight to one device; more wait as PENDING' },
  { key: 'loginFailuresPerKey', flag: '--login-failures-per-key', env: 'OCI_IOT_LOGIN_FAILURES_PER_KEY', type: 'integer', min: 1, max: 1_000_000, help: 'failed device logins for one external key before backoff starts' },
  { key: 'loginFailuresPerAddress', flag: '--login-failures-per-address', env: 'OCI_IOT_LOGIN_FAILURES_PER_ADDRESS', type: 'integer', min: 1, max: 1_000_000, help: 'failed device logins from one source address before backoff starts' },
  { key: 'loginBackoffMax', flag: '--login-backoff-max', env: 'OCI_IOT_LOGIN_BACKOFF_MAX', type: 'duration', help: 'longest wait imposed after repeated failed logins (the backoff doubles from 1 s)' },
  { key: 'sqlTimeout', flag: '--sql-timeout', env: 'OCI_IOT_SQL_TIMEOUT', type: 'duration', help: 'time limit of one statement of the sql command' },
  { key: 'adapterTimeLimit', flag: '--adapter-time-limit', env: 'OCI_IOT_ADAPTER_TIME_LIMIT', type: 'duration', help: "time a message's adapter (jq) expressions may run before the message is rejected" },
  { key: 'seed', flag: '--seed', env: 'OCI_IOT_SEED', type: 'string', help: 'a seed file (.json, .yaml) or a directory of them, read in name order: domain groups, domains, secrets, models, adapters, instances, relationships and virtual devices created at start unless already there (docs/seed.md)' },
  { key: 'adminToken', flag: '--admin-token', env: 'OCI_IOT_ADMIN_TOKEN', type: 'string', help: 'token the console and /emulator/* admin routes require (Authorization: Bearer); when bound beyond loopback and none is given, one is generated and printed at start' },
  { key: 'restKeepAliveTimeout', flag: '--rest-keepalive-timeout', env: 'OCI_IOT_REST_KEEPALIVE_TIMEOUT', type: 'duration', help: 'an idle keep-alive connection to the REST port is closed this long after its last response' },
  { key: 'restHeadersTimeout', flag: '--rest-headers-timeout', env: 'OCI_IOT_REST_HEADERS_TIMEOUT', type: 'duration', help: "time a REST connection has to send a request's headers; a connection that sends nothing is closed after it too" },
  { key: 'restRequestTimeout', flag: '--rest-request-timeout', env: 'OCI_IOT_REST_REQUEST_TIMEOUT', type: 'duration', help: 'time a REST connection has to send a whole request, body included (408 after it)' },
  { key: 'restMaxConnections', flag: '--rest-max-connections', env: 'OCI_IOT_REST_MAX_CONNECTIONS', type: 'integer', min: 1, max: 1_000_000, help: 'open connections the REST port accepts; more are closed at once, so they cannot use up the file descriptors device logins need' },
  { key: 'mqttMaxConnections', flag: '--mqtt-max-connections', env: 'OCI_IOT_MQTT_MAX_CONNECTIONS', type: 'integer', min: 1, max: 1_000_000, help: 'open connections the MQTTS port accepts (logged in or not); more are closed at once, so they cannot use up the file descriptors the other ports need' },
  { key: 'httpsMaxConnections', flag: '--https-max-connections', env: 'OCI_IOT_HTTPS_MAX_CONNECTIONS', type: 'integer', min: 1, max: 1_000_000, help: 'open connections the device HTTPS port accepts (MQTT over WSS and HTTPS POST together); more are closed at once, so they cannot use up the file descriptors the other ports need' },
  { key: 'checkDatabase', flag: '--check-database', env: 'OCI_IOT_CHECK_DATABASE', type: 'boolean', help: "check the whole database with SQLite's integrity_check at start and refuse a damaged one (without it, only a database of up to 64 MiB gets the quicker quick_check)" },
  { key: 'allowHosts', flag: '--allow-host', env: 'OCI_IOT_ALLOW_HOST', type: 'string', help: 'further Host names (comma-separated) the console and /emulator/* answer to; beside them only localhost, IP addresses, the bind address and the device hosts are served (against DNS rebinding)' },
  { key: 'proxyPort', flag: '--proxy-port', env: 'OCI_IOT_PROXY_PORT', type: 'optional-port', help: "port of the HTTPS proxy mode: HTTP CONNECT to OCI's host names only (iot.<region>.oci.oraclecloud.com, …), answered by the emulator with its own certificate, so clients need only HTTPS_PROXY and the CA bundle (0 = any free port; off by default)" },
  { key: 'dataApiAuth', flag: '--data-api-auth', env: 'OCI_IOT_DATA_API_AUTH', type: 'enum', choices: ['any', 'required'], help: 'any: the data API (/ords) takes any bearer token or none; required: only a token from POST /oauth2/v1/token that has not expired (401 otherwise)' },
];

export class ConfigError extends Error {}

/** Checks and converts one raw value; the same rules apply to flags, env vars and the API. */
export function coerceOption(spec: OptionSpec, raw: unknown): EmulatorConfig[keyof EmulatorConfig] {
  if (spec.type === 'optional-port' && (raw === null || raw === '' || String(raw).toLowerCase() === 'off')) return null;
  const name = `${spec.flag} / ${spec.env}`;
  switch (spec.type) {
    case 'port': {
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name}: "${raw}" is not a port number (0-65535)`);
      return n;
    }
    case 'optional-port':
      return coerceOption({ ...spec, type: 'port' }, raw);
    case 'duration': {
      const parsed = parseDuration(String(raw));
      if (!parsed.ok) throw new ConfigError(`${name}: "${raw}" ${parsed.reason}`);
      return String(raw);
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const text = String(raw).toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(text)) return true;
      if (['false', '0', 'no', 'off'].includes(text)) return false;
      throw new ConfigError(`${name}: "${raw}" is not true or false`);
    }
    case 'integer': {
      const n = typeof raw === 'number' ? raw : Number(raw);
      const min = spec.min ?? Number.MIN_SAFE_INTEGER;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name}: "${raw}" is not a whole number from ${min} to ${max}`);
      return n;
    }
    case 'enum':
      if (!spec.choices!.includes(String(raw))) throw new ConfigError(`${name}: "${raw}" is not one of ${spec.choices!.join(', ')}`);
      return String(raw);
    default:
      if (String(raw).length === 0) throw new ConfigError(`${name}: must not be empty`);
      return String(raw);
  }
}

export function resolveConfig(
  overrides: Partial<EmulatorConfig> = {},
  env: NodeJS.ProcessEnv = {},
): EmulatorConfig {
  const config: Record<string, unknown> = { ...DEFAULTS };
  for (const spec of OPTIONS) {
    if (env[spec.env] !== undefined && env[spec.env] !== '') config[spec.key] = coerceOption(spec, env[spec.env]);
    if (overrides[spec.key] !== undefined) config[spec.key] = coerceOption(spec, overrides[spec.key]);
  }
  if (config.verifySignatures && !config.signatureKeys) {
    throw new ConfigError('--verify-signatures / OCI_IOT_VERIFY_SIGNATURES needs the public keys to check against: --signature-keys / OCI_IOT_SIGNATURE_KEYS');
  }
  return config as unknown as EmulatorConfig;
}

/** Milliseconds of a duration option; resolveConfig has already checked it parses. */
export function durationMs(duration: string): number {
  const parsed = parseDuration(duration);
  if (!parsed.ok) throw new ConfigError(`"${duration}" ${parsed.reason}`);
  return parsed.ms;
}
