#!/usr/bin/env node
import { CliError, parseArgs, UsageError, type FlagSpec, type Parsed } from './cli/args.js';
import { faultCommand, virtualDeviceCommand, webhookCommand } from './cli/control.js';
import { deviceCommand } from './cli/device.js';
import { iotCommand } from './cli/iot.js';
import { DEFAULT_URL, ServiceError } from './cli/rest.js';
import { ConfigError, DEFAULTS, durationMs, OPTIONS, resolveConfig, type EmulatorConfig } from './config.js';
import { OciError, StartError } from './errors.js';
import { issueCertificateFiles } from './cli/cert-command.js';
import { formatTable, toJson } from './sql/format.js';
import { SqlError } from './sql/query.js';
import { SeedError } from './seed/format.js';
import { runReadOnlySqlWithin } from './sql/runner.js';
import { VERSION } from './version.js';

const USAGE = `Usage:
  oci-iot-emulator [start] [options]      start the emulator (REST API + MQTTS broker + console at /console)
  oci-iot-emulator device create [--name NAME] [--domain DOMAIN] [--url URL]
                                          create a device on a running emulator; prints its credentials
  oci-iot-emulator device domains [--url URL]
                                          list the IoT domains (their device hosts and data APIs)
  oci-iot-emulator iot digital-twin-instance <command> [options]
                                          the oci CLI's create, get, list, invoke-raw-json-command,
                                          invoke-raw-text-command, invoke-raw-binary-command
  oci-iot-emulator fault set|list|clear [options]
                                          device and API faults on a running emulator
  oci-iot-emulator virtual-device add|list|start|stop|remove|traffic [options]
                                          devices the emulator hosts (answer commands, publish telemetry)
  oci-iot-emulator webhook add|list|remove|deliveries [options]
                                          POST command transitions and telemetry to a URL
  oci-iot-emulator demo [options]         the emulator with virtual devices answering and publishing
  oci-iot-emulator export [--data-dir DIR] [--yaml]
                                          print the resources of a database as a seed file (for --seed)
  oci-iot-emulator sql "<query>" [--json] [--data-dir DIR] [--sql-timeout PT10S]
                                          run a read-only SQL query on the emulator database
  oci-iot-emulator cert issue --cn <externalKey> [--validity P365D] [--out DIR]
                          [--data-dir DIR] [--certs-dir DIR] [--region R]
                                          issue a device certificate (mTLS) from the emulator CA;
                                          its OCID is usable as the instance's authId
  oci-iot-emulator --help | --version

Options (each also read from its environment variable):
${OPTIONS.map((o) => `  ${`${o.flag} ${o.type === 'boolean' ? '[true|false]' : '<value>'}`.padEnd(38)} ${o.env.padEnd(34)} ${o.help} (default: ${String(DEFAULTS[o.key] ?? '') || 'none'})`).join('\n')}

The device and iot commands talk to a running emulator:
  ${'--url <value>'.padEnd(38)} ${'OCI_IOT_URL'.padEnd(34)} its REST base URL (default: ${DEFAULT_URL})
Each command has its own --help.`;

const optionLines = (keys?: ReadonlyArray<keyof EmulatorConfig>) =>
  OPTIONS.filter((o) => !keys || keys.includes(o.key))
    .map((o) => `  ${`${o.flag} ${o.type === 'boolean' ? '[true|false]' : '<value>'}`.padEnd(38)} ${o.env.padEnd(34)} ${o.help} (default: ${String(DEFAULTS[o.key]) || 'none'})`)
    .join('\n');

const DEMO_USAGE = `Usage: oci-iot-emulator demo [options]

Starts the emulator with three virtual devices (a thermostat answering with jq and publishing
temperature and humidity, a pump, a door sensor), sends one of them a command every 5 s, and
prints the console link. A fresh temporary database unless --data-dir is given.

Options: every option of start (oci-iot-emulator start --help), e.g.
  --rest-port <value>, --mqtt-port <value>, --https-port <value>, --data-dir <value>, --clock <value>`;

const SQL_USAGE = `Usage: oci-iot-emulator sql "<query>" [--json] [--data-dir DIR] [--sql-timeout PT10S]

Runs one read-only SQL statement (SELECT, WITH, read-only PRAGMA) on the emulator's database
and prints a table, or JSON with --json. The emulator may be running or not.

Options:
${optionLines(['dataDir', 'sqlTimeout'])}
  ${'--json'.padEnd(38)} print rows as JSON`;

const EXPORT_USAGE = `Usage: oci-iot-emulator export [--data-dir DIR] [--yaml]

Prints the resources of the emulator's database (domain groups, domains, secrets, models,
adapters, instances, relationships, virtual devices) as a seed file, for --seed. JSON unless
--yaml. The emulator may be running or not.

Options:
${optionLines(['dataDir'])}
  ${'--yaml'.padEnd(38)} print YAML instead of JSON`;

const CERT_USAGE = `Usage: oci-iot-emulator cert issue --cn <externalKey> [--validity P365D] [--out DIR] [options]

Issues a device certificate and key (mTLS) from the emulator's CA; its OCID is usable as the
authId of the instance whose externalKey is the common name.

Options:
  ${'--cn <externalKey>'.padEnd(38)} the common name: the instance's externalKey (required)
  ${'--validity <duration>'.padEnd(38)} how long it is valid (ISO 8601, default P365D)
  ${'--out <dir>'.padEnd(38)} where the .pem files are written (default .)
${optionLines(['dataDir', 'certsDir', 'region', 'deviceHost'])}`;

/** The emulator's options as flags of the one parser (src/cli/args.ts); `keys` picks some of them. */
function optionFlags(keys?: ReadonlyArray<keyof EmulatorConfig>): FlagSpec[] {
  return OPTIONS.filter((o) => !keys || keys.includes(o.key)).map((o) => ({
    flag: o.flag,
    // A boolean may stand alone: `--verify-signatures` means `--verify-signatures true`.
    value: o.type === 'boolean' ? 'true|false' : '<value>',
    optionalValue: o.type === 'boolean',
    help: o.help,
  }));
}

/** Flags parsed here; environment variables are read by resolveConfig, with the same rules as the API. */
function parse(args: readonly string[], flags: readonly FlagSpec[], usage = USAGE): Parsed {
  const parsed = parseArgs(args, flags, usage);
  if (parsed.help) {
    process.stdout.write(usage + '\n');
    process.exit(0);
  }
  return parsed;
}

function optionsFrom(values: ReadonlyMap<string, string>): Partial<EmulatorConfig> {
  const out: Record<string, string> = {};
  for (const spec of OPTIONS) if (values.has(spec.flag)) out[spec.key] = values.get(spec.flag)!;
  return out as Partial<EmulatorConfig>;
}

async function start(args: string[]): Promise<void> {
  const { values, positional } = parse(args, optionFlags());
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  // Loaded here so the client commands (device, iot, sql) start without the server's modules.
  const { startEmulator } = await import('./emulator.js');
  const emu = await startEmulator({ ...optionsFrom(values), env: process.env });
  // A write a library started and nobody awaited (the broker's session store) that the
  // storage refused is noted, not the end of the process; anything else still ends it.
  process.on('unhandledRejection', (reason) => {
    if (!emu.storage.failed(reason, 'a write nobody awaited')) throw reason;
  });
  // Before the ready lines: whoever waits for them may send a signal at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    // A stop that cannot finish in 2 s is reported as a failure rather than hanging.
    const force = setTimeout(() => {
      process.stderr.write('could not stop within 2 s\n');
      process.exit(1);
    }, 2000);
    force.unref();
    emu.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const d = emu.domain;
  process.stdout.write(
    [
      'oci-iot-emulator is ready',
      `  REST API      ${emu.restUrl}/20250531   (Vault: /20180608, Secrets: /20190301)`,
      `  MQTTS         ${emu.mqttUrl}   (MQTT 3.1.1 and 5, TLS)`,
      `  MQTT over WSS ${emu.wssUrl}   (MQTT 3.1.1 and 5, secure WebSockets)`,
      `  device HTTPS  ${emu.httpsUrl}/<endpoint>   (POST telemetry)`,
      `  CA file       ${emu.caFile}`,
      ...(emu.proxyUrl ? [`  HTTPS proxy   ${emu.proxyUrl}   (HTTPS_PROXY for OCI's host names, with the CA file above: docs/hosts-and-proxy.md)`] : []),
      `  IoT domain    ${d.id}`,
      `  domain group  ${d.groupId}`,
      `  deviceHost    ${d.deviceHost}   (domain short id ${d.shortId})`,
      `  data API      ${emu.restUrl}/ords/${d.shortId}/20250531/rawCommandData`,
      // Every domain: devices reach theirs by the host name they connect to (TLS SNI).
      ...emu.control.store.liveDomains().map(
        (dom) => `  domain        ${dom.display_name}  ${dom.id}
                deviceHost ${dom.device_host}   data API ${emu.restUrl}/ords/${dom.short_id}/20250531`,
      ),
      `  database      ${emu.databaseFile}`,
      `  clock         ${emu.clock.kind}`,
      ...(emu.seeded ? [`  seed          ${emu.seeded.files.join(', ') || 'no files'}: ${emu.seeded.created} created, ${emu.seeded.existing} there already`] : []),
      `  signatures    ${emu.config.verifySignatures ? `verified against ${emu.config.signatureKeys}` : 'not checked (any request is accepted)'}`,
      `  console       ${emu.restUrl}/console/${emu.adminToken ? `?token=${emu.adminToken}` : ''}   (API reference ${emu.restUrl}/docs, metrics ${emu.restUrl}/metrics)`,
      ...(emu.adminToken ? [`  admin token   ${emu.adminToken}   (the console and /emulator/* need it: Authorization: Bearer <token>)`] : []),
      '',
    ].join('\n'),
  );
}

async function demo(args: string[]): Promise<void> {
  const { values, positional } = parse(args, optionFlags(), DEMO_USAGE);
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`, DEMO_USAGE);
  const { startDemo } = await import('./cli/demo.js');
  const d = await startDemo(optionsFrom(values), process.env);
  const { emu } = d;
  process.stdout.write(
    [
      'oci-iot-emulator demo is running',
      '',
      `  Open the console:  ${d.consoleUrl}`,
      '  (Commands: one every 5 s, answered by virtual devices; Test control: their traffic, live)',
      '',
      ...d.devices.map((v) => `  ${v.displayName.padEnd(12)} ${v.instanceId}   (virtual device ${v.virtualDeviceId})`),
      '',
      `  REST API      ${emu.restUrl}/20250531`,
      `  MQTTS         ${emu.mqttUrl}   (CA file ${emu.caFile})`,
      ...(emu.adminToken ? [`  admin token   ${emu.adminToken}`] : []),
      '',
      'Send one yourself:',
      `  curl -s -X POST ${emu.restUrl}/20250531/digitalTwinInstances/${d.devices[0].instanceId}/actions/invokeRawCommand \\`,
      `    -H 'content-type: application/json' -d '{"requestDataFormat":"JSON","requestEndpoint":"cmd/setpoint","requestData":{"setpoint":19},"responseEndpoint":"rsp/setpoint"}'`,
      'Ctrl+C stops it.',
      '',
    ].join('\n'),
  );
  const stop = () => void d.stop().then(() => process.exit(0), () => process.exit(1));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function exportCommand(args: string[]): Promise<void> {
  const { values, positional, switches } = parse(args, [...optionFlags(['dataDir']), { flag: '--yaml', help: 'print YAML instead of JSON' }], EXPORT_USAGE);
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`, EXPORT_USAGE);
  const config = resolveConfig(optionsFrom(values), process.env);
  const { exportDataDir } = await import('./seed/export.js');
  const seed = exportDataDir(config.dataDir);
  if (switches.has('--yaml')) {
    const yaml = await import('yaml');
    process.stdout.write(((yaml.stringify as typeof yaml.stringify | undefined) ?? yaml.default.stringify)(seed));
  } else process.stdout.write(JSON.stringify(seed, null, 2) + '\n');
}

async function sql(args: string[]): Promise<void> {
  const { values, positional, switches } = parse(args, [...optionFlags(['dataDir', 'sqlTimeout']), { flag: '--json', help: 'print rows as JSON' }], SQL_USAGE);
  if (positional.length !== 1) throw new UsageError('sql takes exactly one query, in quotes', SQL_USAGE);
  const config = resolveConfig(optionsFrom(values), process.env);
  const result = await runReadOnlySqlWithin(config.dataDir, positional[0], durationMs(config.sqlTimeout));
  process.stdout.write((switches.has('--json') ? toJson(result) : formatTable(result)) + '\n');
}

async function cert(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action === '--help' || action === '-h') {
    process.stdout.write(CERT_USAGE + '\n');
    return;
  }
  if (action !== 'issue') throw new UsageError('cert takes one action: issue', CERT_USAGE);
  const { values, positional } = parse(rest, [
    { flag: '--cn', value: '<externalKey>', help: 'common name' },
    { flag: '--validity', value: '<duration>', help: 'validity' },
    { flag: '--out', value: '<dir>', help: 'output directory' },
    ...optionFlags(['dataDir', 'certsDir', 'region', 'deviceHost']),
  ], CERT_USAGE);
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`, CERT_USAGE);
  const commonName = values.get('--cn');
  if (!commonName) throw new UsageError('cert issue needs --cn <externalKey>', CERT_USAGE);
  const config = resolveConfig(optionsFrom(values), process.env);
  const issued = await issueCertificateFiles(config, commonName, values.get('--validity'), values.get('--out') ?? '.');
  process.stdout.write(
    [
      `issued certificate ${issued.id}`,
      `  common name   ${issued.commonName}`,
      `  valid to      ${issued.validTo}`,
      `  certificate   ${issued.certFile}`,
      `  private key   ${issued.keyFile}`,
      `  CA file       ${issued.caFile}`,
      `Make it the device's login with authId = ${issued.id} on the instance whose externalKey is ${issued.commonName}.`,
      '',
    ].join('\n'),
  );
}

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`oci-iot-emulator ${VERSION}\n`);
    return;
  }
  if (first === 'sql') return sql(rest);
  const io = { out: (text: string) => void process.stdout.write(text + '\n'), err: (text: string) => void process.stderr.write(text + '\n'), env: process.env };
  if (first === 'device') return deviceCommand(rest, io);
  if (first === 'iot') return iotCommand(rest, io);
  if (first === 'fault') return faultCommand(rest, io);
  if (first === 'virtual-device') return virtualDeviceCommand(rest, io);
  if (first === 'webhook') return webhookCommand(rest, io);
  if (first === 'demo') return demo(rest);
  if (first === 'export') return exportCommand(rest);
  if (first === 'cert') return cert(rest);
  if (first === undefined || first === 'start') return start(rest);
  if (first.startsWith('--')) return start(argv);
  throw new UsageError(`unknown command ${first}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) process.stderr.write(`oci-iot-emulator: ${err.message}\n\n${err.usage ?? USAGE}\n`);
  else if (err instanceof ServiceError) process.stderr.write(`${err.render()}\n`);
  else if (err instanceof ConfigError || err instanceof SqlError || err instanceof CliError || err instanceof OciError || err instanceof StartError || err instanceof SeedError) process.stderr.write(`oci-iot-emulator: ${err.message}\n`);
  else process.stderr.write(`oci-iot-emulator: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
