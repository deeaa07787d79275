import { readFileSync } from 'node:fs';
import { CliError, describeFlags, parseArgs, UsageError, type FlagSpec, type Parsed } from './args.js';
import { baseUrl, DEFAULT_URL, rest } from './rest.js';

interface Io {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

const CONNECTION: FlagSpec[] = [
  { flag: '--url', value: 'URL', help: `the emulator's REST base URL (default ${DEFAULT_URL})`, env: 'OCI_IOT_URL', aliases: ['--endpoint'] },
  { flag: '--admin-token', value: 'TOKEN', help: 'the admin token, when the emulator requires one', env: 'OCI_IOT_ADMIN_TOKEN' },
];

/** A JSON value given inline or as file://PATH. */
function jsonParam(flag: string, raw: string, usage: string): unknown {
  let text = raw;
  if (raw.startsWith('file://')) {
    const path = raw.slice('file://'.length);
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON: ${(err as Error).message}`, usage);
  }
}

function wholeNumber(flag: string, raw: string | undefined, usage: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new UsageError(`${flag} "${raw}" is not a whole number`, usage);
  return n;
}

function call(parsed: Parsed, operation: string, method: string, path: string, body?: unknown) {
  const token = parsed.values.get('--admin-token');
  return rest(baseUrl(parsed.values.get('--url') ?? DEFAULT_URL), operation, method, path, body, token ? { authorization: `Bearer ${token}` } : {});
}

function parseAction(args: readonly string[], actions: Record<string, FlagSpec[]>, usage: string, io: Io): { action: string; parsed: Parsed } | null {
  const [action, ...rest_] = args;
  if (action === undefined) throw new UsageError(`missing action (${Object.keys(actions).join(', ')})`, usage);
  if (action === '--help' || action === '-h') {
    io.out(usage);
    return null;
  }
  const flags = actions[action];
  if (!flags) throw new UsageError(`unknown action ${action}`, usage);
  const parsed = parseArgs(rest_, [...flags, ...CONNECTION], usage, io.env);
  if (parsed.help) {
    io.out(usage);
    return null;
  }
  if (parsed.positional.length) throw new UsageError(`unexpected argument ${parsed.positional[0]}`, usage);
  return { action, parsed };
}

const print = (io: Io, value: unknown) => io.out(JSON.stringify(value, null, 2));

const FAULT_SET: FlagSpec[] = [
  { flag: '--instance-id', value: 'OCID', help: 'a device fault: the digital twin instance' },
  { flag: '--operation', value: 'NAME', help: 'an API fault: the OCI operation (InvokeRawCommand, ...) or *' },
  { flag: '--kind', value: 'KIND', help: 'device: drop, delay, withholdPuback, withholdResponse, duplicate, disconnect, refuseLogin; API: throttle, unavailable, error, delay', required: true },
  { flag: '--count', value: 'N', help: 'how many times it takes effect (until cleared when omitted)' },
  { flag: '--fraction', value: 'F', help: 'drop: the share of commands dropped (0 < F <= 1)' },
  { flag: '--delay', value: 'DURATION', help: 'delay: how long, on the emulator clock (PT30S)' },
  { flag: '--after-commands', value: 'N', help: 'disconnect: right after the N-th command (now when omitted)' },
  { flag: '--return-code', value: 'CODE', help: 'refuseLogin: CONNACK 3 (default) or 5' },
  { flag: '--retry-after', value: 'SECONDS', help: 'throttle: the retry-after header (1)' },
  { flag: '--when', value: 'before|after', help: 'API faults: before the operation runs (default) or after it ran' },
];
const FAULT_CLEAR: FlagSpec[] = [
  { flag: '--id', value: 'N', help: 'one fault' },
  { flag: '--instance-id', value: 'OCID', help: "every fault of one instance" },
  { flag: '--operation', value: 'NAME', help: 'every fault of one operation' },
];

export const FAULT_USAGE = `Usage: oci-iot-emulator fault set|list|clear [options]
Injects faults into a running emulator: on a device's way (drop, delay, withhold PUBACKs or
responses, duplicate, disconnect, refuse logins) or on an OCI operation (429, 503, 500, delay).

  fault set --instance-id OCID --kind drop --count 2
  fault set --operation InvokeRawCommand --kind throttle --count 1 --retry-after 2
  fault list
  fault clear [--id N | --instance-id OCID | --operation NAME]   (every fault when none is given)

Options of set:
${describeFlags(FAULT_SET)}
Options of clear:
${describeFlags(FAULT_CLEAR)}
Connection:
${describeFlags(CONNECTION)}`;

/** `fault set|list|clear`: the CLI side of /emulator/faults. */
export async function faultCommand(args: readonly string[], io: Io): Promise<void> {
  const got = parseAction(args, { set: FAULT_SET, list: [], clear: FAULT_CLEAR }, FAULT_USAGE, io);
  if (!got) return;
  const { action, parsed } = got;
  const v = parsed.values;
  if (action === 'list') return print(io, (await call(parsed, 'list_faults', 'GET', '/emulator/faults')).body);
  if (action === 'clear') {
    if (v.has('--id')) return print(io, (await call(parsed, 'clear_fault', 'DELETE', `/emulator/faults/${encodeURIComponent(v.get('--id')!)}`)).body);
    const query = new URLSearchParams();
    if (v.has('--instance-id')) query.set('instanceId', v.get('--instance-id')!);
    if (v.has('--operation')) query.set('operation', v.get('--operation')!);
    const qs = query.toString();
    return print(io, (await call(parsed, 'clear_faults', 'DELETE', `/emulator/faults${qs ? `?${qs}` : ''}`)).body);
  }
  if (!v.has('--kind')) throw new UsageError('missing required option --kind', FAULT_USAGE);
  if (v.has('--instance-id') === v.has('--operation')) throw new UsageError('give --instance-id (a device fault) or --operation (an API fault)', FAULT_USAGE);
  const body: Record<string, unknown> = { kind: v.get('--kind') };
  if (v.has('--instance-id')) body.instanceId = v.get('--instance-id');
  if (v.has('--operation')) body.operation = v.get('--operation');
  for (const [flag, key] of [['--count', 'count'], ['--after-commands', 'afterCommands'], ['--return-code', 'returnCode'], ['--retry-after', 'retryAfter']] as const) {
    const n = wholeNumber(flag, v.get(flag), FAULT_USAGE);
    if (n !== undefined) body[key] = n;
  }
  if (v.has('--fraction')) body.fraction = Number(v.get('--fraction'));
  if (v.has('--delay')) body.delay = v.get('--delay');
  if (v.has('--when')) body.when = v.get('--when');
  print(io, (await call(parsed, 'set_fault', 'POST', '/emulator/faults', body)).body);
}

const VD_ADD: FlagSpec[] = [
  { flag: '--instance-id', value: 'OCID', help: 'the digital twin instance it logs in as' },
  { flag: '--from-json', value: 'JSON|file://PATH', help: 'the whole configuration (instanceId, endpoints, response, responseDelay, responseEndpoint, telemetry)' },
  { flag: '--endpoint', value: 'FILTER', help: 'the topic filter it subscribes to for commands (#)' },
  { flag: '--response-json', value: 'JSON', help: 'answer every command with this JSON (default: echo the request)' },
  { flag: '--response-jq', value: 'EXPR', help: 'answer with this jq expression over the request' },
  { flag: '--no-response', help: 'never answer' },
  { flag: '--response-delay', value: 'DURATION', help: 'answer after this long, on the emulator clock' },
];
const VD_ID: FlagSpec[] = [{ flag: '--id', value: 'ID', help: 'the virtual device', required: true }];

export const VIRTUAL_DEVICE_USAGE = `Usage: oci-iot-emulator virtual-device add|list|start|stop|remove|traffic [options]
Devices hosted by a running emulator: they log in over MQTTS like any device, answer commands
from a template and publish telemetry from generators. They are stored and survive a restart.

  virtual-device add --instance-id OCID [--response-jq '{ok: true, got: .}'] [--response-delay PT2S]
  virtual-device add --from-json file://virtual-device.json
  virtual-device list
  virtual-device start|stop|remove|traffic --id ID

Options of add:
${describeFlags(VD_ADD)}
Connection:
${describeFlags(CONNECTION)}`;

/** `virtual-device …`: the CLI side of /emulator/virtual-devices. */
export async function virtualDeviceCommand(args: readonly string[], io: Io): Promise<void> {
  const got = parseAction(args, { add: VD_ADD, list: [], start: VD_ID, stop: VD_ID, remove: VD_ID, traffic: VD_ID }, VIRTUAL_DEVICE_USAGE, io);
  if (!got) return;
  const { action, parsed } = got;
  const v = parsed.values;
  if (action === 'list') return print(io, (await call(parsed, 'list_virtual_devices', 'GET', '/emulator/virtual-devices')).body);
  if (action !== 'add') {
    if (!v.has('--id')) throw new UsageError('missing required option --id', VIRTUAL_DEVICE_USAGE);
    const path = `/emulator/virtual-devices/${encodeURIComponent(v.get('--id')!)}`;
    if (action === 'remove') {
      await call(parsed, 'remove_virtual_device', 'DELETE', path);
      return io.out(`removed ${v.get('--id')}`);
    }
    if (action === 'traffic') return print(io, (await call(parsed, 'virtual_device_traffic', 'GET', `${path}/traffic`)).body);
    return print(io, (await call(parsed, `${action}_virtual_device`, 'POST', `${path}/${action}`)).body);
  }
  const config = (v.has('--from-json') ? jsonParam('--from-json', v.get('--from-json')!, VIRTUAL_DEVICE_USAGE) : {}) as Record<string, unknown>;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new UsageError('--from-json must hold a JSON object', VIRTUAL_DEVICE_USAGE);
  if (v.has('--instance-id')) config.instanceId = v.get('--instance-id');
  if (!config.instanceId) throw new UsageError('give --instance-id (or instanceId in --from-json)', VIRTUAL_DEVICE_USAGE);
  if (v.has('--endpoint')) config.endpoints = [v.get('--endpoint')];
  const responses = ['--response-json', '--response-jq'].filter((f) => v.has(f)).length + (parsed.switches.has('--no-response') ? 1 : 0);
  if (responses > 1) throw new UsageError('give at most one of --response-json, --response-jq, --no-response', VIRTUAL_DEVICE_USAGE);
  if (v.has('--response-json')) config.response = { kind: 'json', value: jsonParam('--response-json', v.get('--response-json')!, VIRTUAL_DEVICE_USAGE) };
  if (v.has('--response-jq')) config.response = { kind: 'jq', expression: v.get('--response-jq') };
  if (parsed.switches.has('--no-response')) config.response = null;
  if (v.has('--response-delay')) config.responseDelay = v.get('--response-delay');
  print(io, (await call(parsed, 'add_virtual_device', 'POST', '/emulator/virtual-devices', config)).body);
}

const WEBHOOK_ADD: FlagSpec[] = [
  { flag: '--url', value: 'URL', help: 'where to POST (http or https)', required: true },
  { flag: '--secret', value: 'SECRET', help: 'key of the x-emulator-signature HMAC (generated when omitted)' },
  { flag: '--events', value: 'LIST', help: 'command, telemetry or command,telemetry (command)' },
  { flag: '--max-attempts', value: 'N', help: 'attempts per delivery before it is given up (10)' },
];
const WEBHOOK_CONNECTION: FlagSpec[] = [
  { flag: '--emulator-url', value: 'URL', help: `the emulator's REST base URL (default ${DEFAULT_URL})`, env: 'OCI_IOT_URL' },
  CONNECTION[1],
];

export const WEBHOOK_USAGE = `Usage: oci-iot-emulator webhook add|list|remove|deliveries [options]
POSTs each command transition (and, when asked, telemetry) to a URL, signed with
x-emulator-signature: sha256=<HMAC-SHA256 of the body>, retried with backoff.

  webhook add --url http://localhost:9000/hook [--events command,telemetry] [--secret S]
  webhook list
  webhook remove|deliveries --id ID

Options of add:
${describeFlags(WEBHOOK_ADD)}
Connection (--url names the webhook here, so the emulator is --emulator-url):
${describeFlags(WEBHOOK_CONNECTION)}`;

/** `webhook …`: the CLI side of /emulator/webhooks. */
export async function webhookCommand(args: readonly string[], io: Io): Promise<void> {
  const [action, ...rest_] = args;
  if (action === undefined) throw new UsageError('missing action (add, list, remove, deliveries)', WEBHOOK_USAGE);
  if (action === '--help' || action === '-h') return io.out(WEBHOOK_USAGE);
  const flags: Record<string, FlagSpec[]> = { add: WEBHOOK_ADD, list: [], remove: VD_ID, deliveries: VD_ID };
  if (!flags[action]) throw new UsageError(`unknown action ${action}`, WEBHOOK_USAGE);
  const parsed = parseArgs(rest_, [...flags[action], ...WEBHOOK_CONNECTION], WEBHOOK_USAGE, io.env);
  if (parsed.help) return io.out(WEBHOOK_USAGE);
  if (parsed.positional.length) throw new UsageError(`unexpected argument ${parsed.positional[0]}`, WEBHOOK_USAGE);
  const v = parsed.values;
  const token = v.get('--admin-token');
  const send = (operation: string, method: string, path: string, body?: unknown) =>
    rest(baseUrl(v.get('--emulator-url') ?? DEFAULT_URL), operation, method, path, body, token ? { authorization: `Bearer ${token}` } : {});
  if (action === 'list') return print(io, (await send('list_webhooks', 'GET', '/emulator/webhooks')).body);
  if (!v.has(action === 'add' ? '--url' : '--id')) throw new UsageError(`missing required option ${action === 'add' ? '--url' : '--id'}`, WEBHOOK_USAGE);
  if (action === 'remove') {
    await send('remove_webhook', 'DELETE', `/emulator/webhooks/${encodeURIComponent(v.get('--id')!)}`);
    return io.out(`removed ${v.get('--id')}`);
  }
  if (action === 'deliveries') return print(io, (await send('list_webhook_deliveries', 'GET', `/emulator/webhooks/${encodeURIComponent(v.get('--id')!)}/deliveries`)).body);
  const body: Record<string, unknown> = { url: v.get('--url') };
  if (v.has('--secret')) body.secret = v.get('--secret');
  if (v.has('--events')) body.events = v.get('--events')!.split(',').map((e) => e.trim());
  const attempts = wholeNumber('--max-attempts', v.get('--max-attempts'), WEBHOOK_USAGE);
  if (attempts !== undefined) body.maxAttempts = attempts;
  print(io, (await send('add_webhook', 'POST', '/emulator/webhooks', body)).body);
}
