import { parseDuration } from './commands/durations.js';

/** Everything the emulator can be told at start; `startEmulator` takes a partial of it. */
export interface EmulatorConfig {
  /** Address both listeners bind to. */
  bindHost: string;
  restPort: number;
  mqttPort: number;
  /** Directory of the SQLite database; `:memory:` keeps everything in memory. */
  dataDir: string;
  certsDir: string;
  /** Host name devices use; it is the domain's `deviceHost` and is in the server certificate. */
  deviceHost: string;
  region: string;
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
}

export interface OptionSpec {
  key: keyof EmulatorConfig;
  flag: string;
  env: string;
  help: string;
  type: 'string' | 'port' | 'duration' | 'enum' | 'count' | 'boolean';
  choices?: readonly string[];
}

export const DEFAULTS: EmulatorConfig = {
  bindHost: '127.0.0.1',
  restPort: 8080,
  mqttPort: 8883,
  dataDir: 'data',
  certsDir: 'certs',
  deviceHost: 'localhost',
  region: 'us-ashburn-1',
  clock: 'system',
  defaultRequestDuration: 'PT10M',
  defaultResponseDuration: 'PT10M',
  durability: 'normal',
  maxPendingPerDevice: 1000,
  logLevel: 'info',
  verifySignatures: false,
  signatureKeys: '',
};

/** One table drives the CLI flags, the environment variables, `--help` and the README. */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'bindHost', flag: '--bind', env: 'OCI_IOT_BIND', type: 'string', help: 'address both listeners bind to (0.0.0.0 to accept other machines)' },
  { key: 'restPort', flag: '--rest-port', env: 'OCI_IOT_REST_PORT', type: 'port', help: 'HTTP port of the REST API (0 = any free port)' },
  { key: 'mqttPort', flag: '--mqtt-port', env: 'OCI_IOT_MQTT_PORT', type: 'port', help: 'MQTTS port for devices (0 = any free port)' },
  { key: 'dataDir', flag: '--data-dir', env: 'OCI_IOT_DATA_DIR', type: 'string', help: 'directory of the SQLite database emulator.db (:memory: for none)' },
  { key: 'certsDir', flag: '--certs-dir', env: 'OCI_IOT_CERTS_DIR', type: 'string', help: 'directory of the local CA and server certificate' },
  { key: 'deviceHost', flag: '--device-host', env: 'OCI_IOT_DEVICE_HOST', type: 'string', help: "host name devices connect to (the domain's deviceHost; added to the certificate)" },
  { key: 'region', flag: '--region', env: 'OCI_IOT_REGION', type: 'string', help: 'OCI region used in OCIDs' },
  { key: 'clock', flag: '--clock', env: 'OCI_IOT_CLOCK', type: 'enum', choices: ['system', 'manual'], help: 'system time, or a manual clock moved with POST /emulator/clock' },
  { key: 'defaultRequestDuration', flag: '--default-request-duration', env: 'OCI_IOT_DEFAULT_REQUEST_DURATION', type: 'duration', help: 'requestDuration when a command omits it' },
  { key: 'defaultResponseDuration', flag: '--default-response-duration', env: 'OCI_IOT_DEFAULT_RESPONSE_DURATION', type: 'duration', help: 'responseDuration when a command omits it' },
  { key: 'durability', flag: '--durability', env: 'OCI_IOT_DURABILITY', type: 'enum', choices: ['normal', 'full'], help: 'normal: a killed process loses nothing (SQLite WAL); full: also survive power loss (fsync per commit, slower)' },
  { key: 'maxPendingPerDevice', flag: '--max-pending-per-device', env: 'OCI_IOT_MAX_PENDING_PER_DEVICE', type: 'count', help: 'commands an offline device may have PENDING; past it new ones are REFUSED' },
  { key: 'logLevel', flag: '--log-level', env: 'OCI_IOT_LOG_LEVEL', type: 'enum', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], help: 'log level' },
  { key: 'verifySignatures', flag: '--verify-signatures', env: 'OCI_IOT_VERIFY_SIGNATURES', type: 'boolean', help: 'accept only OCI API requests signed by a key in --signature-keys (401 NotAuthenticated otherwise)' },
  { key: 'signatureKeys', flag: '--signature-keys', env: 'OCI_IOT_SIGNATURE_KEYS', type: 'string', help: 'public keys for --verify-signatures: a .json file {"<keyId>": "<PEM>"}, or a PEM file or directory of *.pem files matched by the fingerprint in the keyId' },
];

export class ConfigError extends Error {}

/** Checks and converts one raw value; the same rules apply to flags, env vars and the API. */
export function coerceOption(spec: OptionSpec, raw: unknown): EmulatorConfig[keyof EmulatorConfig] {
  const name = `${spec.flag} / ${spec.env}`;
  switch (spec.type) {
    case 'port': {
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name}: "${raw}" is not a port number (0-65535)`);
      return n;
    }
    case 'count': {
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name}: "${raw}" is not a whole number of at least 1`);
      return n;
    }
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
