import { readFileSync } from 'node:fs';
import { CliError, describeFlags, parseArgs, requireFlags, UsageError, type FlagSpec } from './args.js';
import { cliOutput } from './oci-output.js';
import { baseUrl, DEFAULT_URL, rest } from './rest.js';

/**
 * `oci-iot-emulator iot digital-twin-instance ...`: the oci CLI's commands for the seed's
 * flow, with its flags and its output, talking to a running emulator over REST. Users
 * with the real oci CLI can use it instead (`--endpoint`); this is for those without.
 */

interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

type Kind = 'string' | 'json' | 'integer' | 'enum';

/** A flag that becomes a field of the request, named in camelCase as in --from-json. */
interface Field extends FlagSpec {
  key: string;
  kind: Kind;
  choices?: readonly string[];
}

const field = (flag: string, help: string, more: Partial<Field> = {}): Field => ({
  flag,
  key: camel(flag.slice(2)),
  value: more.kind === 'json' ? 'JSON' : more.kind === 'integer' ? 'N' : more.choices ? more.choices.join('|') : 'TEXT',
  help,
  kind: 'string',
  ...more,
});

const COMMON: FlagSpec[] = [
  { flag: '--url', value: 'URL', help: `the emulator's REST base URL (default ${DEFAULT_URL})`, env: 'OCI_IOT_URL', aliases: ['--endpoint'] },
  { flag: '--from-json', value: 'file://PATH', help: 'options as a JSON object with camelCase keys; flags given too win' },
];

const INSTANCE_ID = field('--digital-twin-instance-id', 'OCID of the digital twin instance', { required: true });
const DOMAIN_ID = field('--iot-domain-id', 'OCID of the IoT domain (see GET /emulator/info)', { required: true });
const CONNECTIVITY = ['DIRECT', 'INDIRECT', 'GATEWAY', 'NONE'] as const;

const CREATE_FIELDS: Field[] = [
  DOMAIN_ID,
  field('--connectivity-type', 'how the device connects', { kind: 'enum', choices: CONNECTIVITY }),
  field('--auth-id', 'OCID of the Vault secret holding the device password'),
  field('--external-key', 'the device user name (generated when omitted)'),
  field('--display-name', 'display name'),
  field('--description', 'description'),
  field('--digital-twin-adapter-id', 'OCID of a digital twin adapter'),
  field('--digital-twin-model-id', 'OCID of a digital twin model'),
  field('--digital-twin-model-spec-uri', 'DTMI of a digital twin model'),
  field('--gateways', 'JSON array of gateway instance OCIDs', { kind: 'json' }),
  field('--freeform-tags', 'JSON object of tags', { kind: 'json' }),
  field('--defined-tags', 'JSON object of tag namespaces', { kind: 'json' }),
];
// Accepted for scripts written for the oci CLI: an instance is ACTIVE as soon as it exists.
const WAIT_FIELDS: Field[] = [
  field('--wait-for-state', 'wait until the instance is in this state (instances are ACTIVE at once)', { kind: 'enum', choices: ['ACTIVE'] }),
  field('--max-wait-seconds', 'accepted for compatibility', { kind: 'integer' }),
  field('--wait-interval-seconds', 'accepted for compatibility', { kind: 'integer' }),
];

const LIST_FIELDS: Field[] = [
  DOMAIN_ID,
  field('--display-name', 'only instances with this display name'),
  field('--limit', 'items per page', { kind: 'integer' }),
  field('--page', 'the opc-next-page value of a previous call'),
  field('--lifecycle-state', 'ACTIVE (default) or DELETED', { kind: 'enum', choices: ['ACTIVE', 'DELETED'] }),
  field('--sort-order', 'sort order', { kind: 'enum', choices: ['ASC', 'DESC'] }),
  field('--sort-by', 'sort field', { kind: 'enum', choices: ['timeCreated', 'displayName'] }),
  field('--digital-twin-model-id', 'only instances of this model'),
  field('--digital-twin-model-spec-uri', 'only instances of this model spec URI'),
  field('--connectivity-type', 'only instances with this connectivity', { kind: 'enum', choices: CONNECTIVITY }),
  field('--id', 'only the instance with this OCID'),
  field('--page-size', 'items per request when --all is given', { kind: 'integer' }),
];
const ALL: FlagSpec = { flag: '--all', help: 'fetch every page' };

type Format = 'JSON' | 'TEXT' | 'BINARY';
const INVOKE_FIELDS = (format: Format): Field[] => [
  INSTANCE_ID,
  field('--request-endpoint', 'the topic the device subscribes to, e.g. /endpoints/1234', { required: true }),
  field(
    '--request-data',
    {
      JSON: 'the command as a JSON object, or file://PATH to one',
      TEXT: 'the command as plain text, or file://PATH to read it from',
      BINARY: 'the command as base64, or file://PATH whose bytes are sent',
    }[format],
  ),
  field('--request-data-content-type', 'content type of the request data'),
  field('--request-duration', 'ISO 8601 duration to deliver within, e.g. PT3M (default PT10M)'),
  field('--response-endpoint', 'the topic the device answers on, e.g. /endpoints/4321 (omit for one-way)'),
  field('--response-duration', 'ISO 8601 duration to answer within, e.g. PT3M (default PT10M)'),
];

interface Command {
  summary: string;
  fields: Field[];
  switches?: FlagSpec[];
  run(values: Record<string, unknown>, parsed: { switches: Set<string> }, base: string, io: Io): Promise<void>;
}

const GROUP = 'iot digital-twin-instance';

const COMMANDS: Record<string, Command> = {
  create: {
    summary: 'Create a digital twin instance',
    fields: [...CREATE_FIELDS, ...WAIT_FIELDS],
    async run(values, _p, base, io) {
      const body = pick(values, CREATE_FIELDS);
      const reply = await rest(base, 'create_digital_twin_instance', 'POST', '/20250531/digitalTwinInstances', body);
      io.out(cliOutput(reply.body, { etag: reply.headers.get('etag') }));
    },
  },
  get: {
    summary: 'Get a digital twin instance',
    fields: [INSTANCE_ID],
    async run(values, _p, base, io) {
      const reply = await rest(base, 'get_digital_twin_instance', 'GET', `/20250531/digitalTwinInstances/${encodeURIComponent(String(values.digitalTwinInstanceId))}`);
      io.out(cliOutput(reply.body, { etag: reply.headers.get('etag') }));
    },
  },
  list: {
    summary: 'List the digital twin instances of an IoT domain',
    fields: LIST_FIELDS,
    switches: [ALL],
    async run(values, parsed, base, io) {
      const { pageSize, ...query } = pick(values, LIST_FIELDS);
      const all = parsed.switches.has('--all');
      if (all && pageSize !== undefined) query.limit = pageSize;
      const items: unknown[] = [];
      let next: string | null = null;
      do {
        const params = new URLSearchParams(Object.entries({ ...query, ...(next ? { page: next } : {}) }).map(([k, v]): [string, string] => [k, String(v)]));
        const reply = await rest(base, 'list_digital_twin_instances', 'GET', `/20250531/digitalTwinInstances?${params}`);
        items.push(...(reply.body as { items: unknown[] }).items);
        next = reply.headers.get('opc-next-page');
      } while (all && next);
      io.out(cliOutput({ items }, { 'opc-next-page': all ? null : next }));
    },
  },
  'invoke-raw-json-command': invokeCommand('JSON'),
  'invoke-raw-text-command': invokeCommand('TEXT'),
  'invoke-raw-binary-command': invokeCommand('BINARY'),
};

function invokeCommand(format: Format): Command {
  const fields = INVOKE_FIELDS(format);
  return {
    summary: `Invoke a raw ${format} command on a digital twin instance (prints nothing on stdout, as oci does)`,
    fields,
    async run(values, _p, base, io) {
      const { digitalTwinInstanceId, requestData, requestDataFormat, ...rest_ } = values;
      // The seed's command.json carries requestDataFormat; it has to agree with the command.
      if (requestDataFormat !== undefined && requestDataFormat !== format) {
        throw new UsageError(`--from-json has requestDataFormat ${String(requestDataFormat)}, but this is invoke-raw-${format.toLowerCase()}-command`, usage(`invoke-raw-${format.toLowerCase()}-command`));
      }
      const body = { requestDataFormat: format, ...pick(rest_, fields), ...(requestData === undefined ? {} : { requestData: loadRequestData(format, requestData) }) };
      const reply = await rest(
        base,
        'invoke_raw_command',
        'POST',
        `/20250531/digitalTwinInstances/${encodeURIComponent(String(digitalTwinInstanceId))}/actions/invokeRawCommand`,
        body,
      );
      const location = reply.headers.get('location') ?? '';
      // stdout stays empty like oci's; the record id is what a user wants next, so it goes to stderr.
      io.err(`Accepted: raw command data record ${location.split('/').pop()} (${location})`);
    },
  };
}

function usage(name?: string): string {
  if (name && COMMANDS[name]) {
    const c = COMMANDS[name];
    return `Usage: oci-iot-emulator ${GROUP} ${name} [options]\n${c.summary}\n\nOptions:\n${describeFlags([...c.fields, ...(c.switches ?? []), ...COMMON])}`;
  }
  return `Usage: oci-iot-emulator ${GROUP} <command> [options]\n\nCommands:\n${Object.entries(COMMANDS)
    .map(([n, c]) => `  ${n.padEnd(28)} ${c.summary}`)
    .join('\n')}\n\nEach takes the oci CLI's flags; see oci-iot-emulator ${GROUP} <command> --help`;
}

export const IOT_USAGE = usage();

/** `iot digital-twin-instance <command> ...` */
export async function iotCommand(args: readonly string[], io: Io): Promise<void> {
  const [group, name, ...rest_] = args;
  if (group === '--help' || group === '-h') return io.out(usage());
  if (group === undefined) throw new UsageError('missing resource (digital-twin-instance)', usage());
  if (group !== 'digital-twin-instance') throw new UsageError(`unknown iot resource ${group}; this emulator has digital-twin-instance`, usage());
  if (name === undefined || name === '--help' || name === '-h') {
    if (name === undefined) throw new UsageError('missing command', usage());
    return io.out(usage());
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command ${name}`, usage());
  const commandUsage = usage(name);
  const parsed = parseArgs(rest_, [...command.fields, ...(command.switches ?? []), ...COMMON], commandUsage, io.env);
  if (parsed.help) return io.out(commandUsage);
  if (parsed.positional.length) throw new UsageError(`unexpected argument ${parsed.positional[0]}`, commandUsage);

  // --from-json first, then the flags on top: the oci CLI's precedence.
  const values: Record<string, unknown> = parsed.values.has('--from-json') ? fromJson(parsed.values.get('--from-json')!, commandUsage) : {};
  const known = new Set([...command.fields.map((f) => f.key), ...(name.startsWith('invoke-') ? ['requestDataFormat'] : [])]);
  const stray = Object.keys(values).find((k) => !known.has(k));
  if (stray) throw new UsageError(`--from-json has an unknown key "${stray}"; keys are the options in camelCase (${[...known].join(', ')})`, commandUsage);
  for (const f of command.fields) {
    const raw = parsed.values.get(f.flag);
    if (raw !== undefined) values[f.key] = convert(f, raw, commandUsage);
  }
  requireFlags(command.fields, (spec) => values[(spec as Field).key] !== undefined, commandUsage);
  if (values.waitForState !== undefined && values.waitForState !== 'ACTIVE') {
    throw new UsageError(`--wait-for-state ${String(values.waitForState)} would never be reached: a new instance is ACTIVE`, commandUsage);
  }
  await command.run(values, parsed, baseUrl(parsed.values.get('--url') ?? DEFAULT_URL), io);
}

function convert(f: Field, raw: string, commandUsage: string): unknown {
  switch (f.kind) {
    case 'integer': {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`${f.flag} "${raw}" is not a positive whole number`, commandUsage);
      return n;
    }
    case 'enum':
      if (!f.choices!.includes(raw)) throw new UsageError(`${f.flag} "${raw}" is not one of ${f.choices!.join(', ')}`, commandUsage);
      return raw;
    case 'json':
      return parseJson(f.flag, readParam(raw), commandUsage);
    default:
      // --request-data is format-specific and is read later; other text stays as typed.
      return raw;
  }
}

function fromJson(raw: string, commandUsage: string): Record<string, unknown> {
  const value = parseJson('--from-json', readParam(raw), commandUsage);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('--from-json must hold a JSON object', commandUsage);
  return value as Record<string, unknown>;
}

/** `file://PATH` reads the file, as the oci CLI does for complex parameters. */
function readParam(raw: string): string {
  if (!raw.startsWith('file://')) return raw;
  return readFileBytes(raw).toString('utf8');
}

function readFileBytes(raw: string): Buffer {
  const path = raw.slice('file://'.length);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function parseJson(flag: string, text: string, commandUsage: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON: ${(err as Error).message}`, commandUsage);
  }
}

/** The request data as invokeRawCommand wants it for the format: an object, a string, or base64. */
function loadRequestData(format: Format, value: unknown): unknown {
  const commandUsage = usage(`invoke-raw-${format.toLowerCase()}-command`);
  if (typeof value !== 'string') return value; // from --from-json, already typed
  if (format === 'BINARY') return value.startsWith('file://') ? readFileBytes(value).toString('base64') : value;
  const text = readParam(value);
  if (format === 'TEXT') return text;
  const parsed = parseJson('--request-data', text, commandUsage);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError('--request-data must be a JSON object for invoke-raw-json-command', commandUsage);
  }
  return parsed;
}

/** Only the request's own fields, so CLI-only options never reach the API. */
function pick(values: Record<string, unknown>, fields: readonly Field[]): Record<string, unknown> {
  const keys = new Set(fields.map((f) => f.key));
  return Object.fromEntries(Object.entries(values).filter(([k, v]) => keys.has(k) && v !== undefined));
}

function camel(kebabName: string): string {
  return kebabName.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}
