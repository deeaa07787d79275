/** The three ways a device reaches the emulator, as OCI's device host offers them (8883, and 443 for the other two). */
export function deviceUrls(host: string, mqttPort: number, httpsPort: number): { mqttUrl: string; wssUrl: string; httpsUrl: string } {
  const h = host.includes(':') ? `[${host}]` : host;
  return { mqttUrl: `mqtts://${h}:${mqttPort}`, wssUrl: `wss://${h}:${httpsPort}/mqtt`, httpsUrl: `https://${h}:${httpsPort}` };
}

/** Where and how a device connects: what the console, `device create` and the test API show. */
export interface DeviceConnection {
  host: string;
  port: number;
  /** mqtts://host:port */
  mqttUrl: string;
  /** The device HTTPS port: MQTT over secure WebSockets and HTTPS POST. */
  httpsPort: number;
  /** wss://host:httpsPort/mqtt */
  wssUrl: string;
  /** https://host:httpsPort, to which the device POSTs /<endpoint>. */
  httpsUrl: string;
  /** Absolute path of the CA certificate on the emulator's machine. */
  caFile: string;
  username: string;
  password: string;
  /** The client id the suggested commands use; any id works. */
  clientId: string;
  /** A command line that subscribes as this device to every command sent to it. */
  mosquittoSub: string;
}

export function deviceConnection(p: { host: string; port: number; httpsPort: number; caFile: string; username: string; password: string }): DeviceConnection {
  const clientId = p.username;
  return {
    host: p.host,
    port: p.port,
    httpsPort: p.httpsPort,
    ...deviceUrls(p.host, p.port, p.httpsPort),
    caFile: p.caFile,
    username: p.username,
    password: p.password,
    clientId,
    mosquittoSub: [
      'mosquitto_sub',
      '-h', p.host,
      '-p', String(p.port),
      '--cafile', p.caFile,
      // The broker speaks 3.1.1 and 5; the line names 3.1.1, the version Oracle's samples use.
      '-V', 'mqttv311',
      '-u', p.username,
      '-P', p.password,
      '-i', clientId,
      '-q', '1',
      '-t', '#',
      '-v',
    ]
      .map(shellQuote)
      .join(' '),
  };
}

/** Quotes a word for POSIX shells only when it needs it, so the common line stays readable. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
