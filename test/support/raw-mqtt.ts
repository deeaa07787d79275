import mqttPacket, { type Packet } from 'mqtt-packet';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/**
 * A device made of a raw TLS socket and mqtt-packet: it sends exactly the bytes a test
 * chooses (malformed, oversized, out of order) and acknowledges nothing by itself.
 */
export interface RawDevice {
  socket: TLSSocket;
  /** Packets received and not yet taken by next(). */
  received: Packet[];
  write(bytes: Buffer): void;
  send(packet: Packet): void;
  /** The next packet of `cmd` (or any), waiting for it if needed; rejects if the socket closes first. */
  next(cmd?: Packet['cmd']): Promise<Packet>;
  /** Resolves when the emulator (or we) closed the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  end(): Promise<void>;
}

export interface RawOptions {
  port: number;
  ca: string;
  cert?: string;
  key?: string;
}

export async function rawDevice(opts: RawOptions): Promise<RawDevice> {
  const socket = tlsConnect({ host: 'localhost', port: opts.port, ca: opts.ca, cert: opts.cert, key: opts.key });
  // A reset (the emulator closing on unread bytes) is one way for a test device to end; 'close' always follows.
  socket.on('error', () => {});
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    void closed.then(() => reject(new Error('closed during TLS handshake')));
  });

  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const received: Packet[] = [];
  const waiters: Array<{ cmd?: string; resolve(p: Packet): void }> = [];
  parser.on('packet', (packet: Packet) => {
    const i = waiters.findIndex((w) => w.cmd === undefined || w.cmd === packet.cmd);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(packet);
    else received.push(packet);
  });
  // The emulator only sends valid packets; if not, the test sees it as a packet missing, not a crash.
  parser.on('error', () => {});
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));

  return {
    socket,
    received,
    write: (bytes) => void socket.write(bytes),
    send: (packet) => void socket.write(mqttPacket.generate(packet)),
    next(cmd) {
      const i = received.findIndex((p) => cmd === undefined || p.cmd === cmd);
      if (i >= 0) return Promise.resolve(received.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const waiter = { cmd, resolve };
        waiters.push(waiter);
        void closed.then(() => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) {
            waiters.splice(at, 1);
            reject(new Error(`connection closed while waiting for ${cmd ?? 'a packet'}`));
          }
        });
      });
    },
    closed,
    isClosed: () => isClosed,
    async end() {
      socket.end();
      await closed;
    },
  };
}

export const connectPacket = (fields: Partial<mqttPacket.IConnectPacket> = {}): mqttPacket.IConnectPacket => ({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: 'raw',
  keepalive: 60,
  ...fields,
});

/** Connects and logs in; returns the device and the CONNACK's return code. */
export async function rawLogin(opts: RawOptions, fields: Partial<mqttPacket.IConnectPacket>): Promise<{ device: RawDevice; returnCode: number | undefined }> {
  const device = await rawDevice(opts);
  device.send(connectPacket(fields));
  try {
    const connack = (await device.next('connack')) as mqttPacket.IConnackPacket;
    return { device, returnCode: connack.returnCode };
  } catch {
    return { device, returnCode: undefined };
  }
}
