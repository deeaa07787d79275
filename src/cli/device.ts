import { describeFlags, parseArgs, UsageError, type FlagSpec } from './args.js';
import { baseUrl, DEFAULT_URL, rest } from './rest.js';

interface Io {
  out(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** What POST /emulator/devices answers (the parts printed here). */
interface CreatedDevice {
  device: { instanceId: string; displayName: string; externalKey: string };
  secretId: string;
  connection: { host: string; port: number; caFile: string; caUrl: string; username: string; password: string; clientId: string; mosquittoSub: string };
}

const FLAGS: FlagSpec[] = [
  { flag: '--name', value: 'NAME', help: 'display name of the new device' },
  { flag: '--domain', value: 'DOMAIN', help: 'the IoT domain to create it in: its OCID, short id or display name (see `device domains`; the first domain when omitted)' },
  { flag: '--external-key', value: 'KEY', help: 'its MQTT user name (generated when omitted)' },
  { flag: '--json', help: 'print the reply as JSON instead of text' },
  { flag: '--url', value: 'URL', help: `the emulator's REST base URL (default ${DEFAULT_URL})`, env: 'OCI_IOT_URL', aliases: ['--endpoint'] },
  { flag: '--admin-token', value: 'TOKEN', help: 'the admin token, when the emulator requires one', env: 'OCI_IOT_ADMIN_TOKEN' },
];

export const DEVICE_USAGE = `Usage: oci-iot-emulator device create [--name NAME] [--domain DOMAIN] [options]
       oci-iot-emulator device domains [--json] [--url URL]
create: makes a device on a running emulator in one step (a Vault secret with a new password
and a digital twin instance whose authId names it) and prints how it connects.
domains: lists the IoT domains a device can be created in, with the host its devices connect to.

Options:
${describeFlags(FLAGS)}`;

/** `device create`: one step from nothing to a device that can log in. */
export async function deviceCommand(args: readonly string[], io: Io): Promise<void> {
  const [action, ...rest_] = args;
  if (action === '--help' || action === '-h') return io.out(DEVICE_USAGE);
  if (action === undefined) throw new UsageError('missing action (create)', DEVICE_USAGE);
  if (action !== 'create' && action !== 'domains') throw new UsageError(`unknown action ${action}; "device create" and "device domains" exist`, DEVICE_USAGE);
  const parsed = parseArgs(rest_, FLAGS, DEVICE_USAGE, io.env);
  if (parsed.help) return io.out(DEVICE_USAGE);
  if (parsed.positional.length) throw new UsageError(`unexpected argument ${parsed.positional[0]}; give the name as --name "${parsed.positional[0]}"`, DEVICE_USAGE);
  const base = baseUrl(parsed.values.get('--url') ?? DEFAULT_URL);
  const token = parsed.values.get('--admin-token');
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (action === 'domains') {
    const domains = await listDomains(base, headers);
    if (parsed.switches.has('--json')) return io.out(JSON.stringify(domains, null, 2));
    return io.out(
      domains
        .map((d, i) => `${i === 0 ? '*' : ' '} ${d.displayName}  (short id ${d.shortId}, ${d.lifecycleState})\n    id          ${d.id}\n    deviceHost  ${d.deviceHost}\n    data API    ${d.dataApiUrl}`)
        .concat('', '* the first domain: devices that send no TLS SNI land here; `device create --domain` picks another.')
        .join('\n'),
    );
  }
  const body: Record<string, string> = {};
  if (parsed.values.has('--domain')) {
    const wanted = parsed.values.get('--domain')!;
    const domains = await listDomains(base, headers);
    const match = domains.filter((d) => d.id === wanted || d.shortId === wanted || d.displayName === wanted);
    if (match.length !== 1) {
      throw new UsageError(
        `--domain "${wanted}" ${match.length ? 'names several domains; give its OCID' : 'is no domain'}; the domains are: ${domains.map((d) => `${d.displayName} (${d.shortId})`).join(', ')}`,
        DEVICE_USAGE,
      );
    }
    body.iotDomainId = match[0].id;
  }
  if (parsed.values.has('--name')) body.displayName = parsed.values.get('--name')!;
  if (parsed.values.has('--external-key')) body.externalKey = parsed.values.get('--external-key')!;

  const reply = await rest(base, 'create_device', 'POST', '/emulator/devices', body, headers);
  const created = reply.body as CreatedDevice;
  if (parsed.switches.has('--json')) return io.out(JSON.stringify(created, null, 2));
  const c = created.connection;
  io.out(
    [
      `Device "${created.device.displayName}" created.`,
      '',
      `  username   ${c.username}   (the instance's externalKey)`,
      `  password   ${c.password}   (the plaintext of Vault secret ${created.secretId})`,
      `  host       ${c.host}`,
      `  port       ${c.port}   (MQTT 3.1.1 and 5 over TLS)`,
      `  CA file    ${c.caFile}   (or download ${c.caUrl})`,
      `  client id  ${c.clientId}   (any id works; several connections per device, one per client id)`,
      `  instance   ${created.device.instanceId}`,
      '',
      'Receive its commands:',
      `  ${c.mosquittoSub}`,
    ].join('\n'),
  );
}

interface DomainInfo {
  id: string;
  shortId: string;
  displayName: string;
  lifecycleState: string;
  deviceHost: string;
  dataApiUrl: string;
}

/** Every live domain, the first (where SNI-less devices land) first. */
async function listDomains(base: string, headers: Record<string, string>): Promise<DomainInfo[]> {
  const reply = await rest(base, 'get_emulator_info', 'GET', '/emulator/info', undefined, headers);
  return (reply.body as { domains: DomainInfo[] }).domains;
}
