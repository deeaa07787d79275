import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createHeaderScanner, type PacketSizeLimits } from './packet-guard.js';

/** How a device reached the broker: MQTT over TLS (8883), or over a secure WebSocket (/mqtt). */
export type Transport = 'mqtts' | 'wss';

export interface ConnectionGuardOptions extends PacketSizeLimits {
  /** A device that leaves written bytes unread this long is dropped. */
  drainTimeoutMs: number;
  /** Told why the connection is being closed by the guard. */
  onRefused(reason: string): void;
}

/**
 * What Aedes sees instead of the device's byte stream (the TLS socket, or the stream of a
 * WebSocket carried by one). Inbound bytes pass a fixed-header check before anything
 * buffers them; outbound writes that the stream cannot flush within the drain timeout drop
 * the device. It covers the commands the broker writes itself, which Aedes' own
 * drainTimeout never sees.
 */
export class GuardedConnection extends Duplex {
  private readonly scanner;
  private drainTimer: NodeJS.Timeout | null = null;

  /**
   * @param socket the TLS socket: the device's address and client certificate.
   * @param stream the MQTT bytes: the socket itself, or a WebSocket's stream over it.
   */
  constructor(
    readonly socket: TLSSocket,
    private readonly opts: ConnectionGuardOptions,
    private readonly stream: Duplex = socket,
    readonly transport: Transport = 'mqtts',
  ) {
    super();
    this.scanner = createHeaderScanner(opts);
    // MQTT packets are small and a device waits for each answer. With Nagle on, the CONNACK
    // sat behind the TLS session tickets until the client's delayed ACK: 40 ms per login.
    socket.setNoDelay(true);
    stream.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const refusal = this.scanner.feed(chunk);
      if (refusal) {
        opts.onRefused(refusal);
        this.destroy(new Error(refusal));
        return;
      }
      if (!this.push(chunk)) stream.pause();
    });
    stream.on('end', () => this.push(null));
    stream.on('error', (err) => this.destroy(err));
    stream.on('close', () => this.destroy());
  }

  /** The address the device connected from, as a plain socket would report it. */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /**
   * The device logged in: its packets may now be as large as maxPacketSize. For an MQTT 5
   * device the broker checks that limit itself (it answers DISCONNECT 0x95 first).
   */
  authenticated(opts: { sizeCheckedByBroker?: boolean } = {}): void {
    this.scanner.authenticated(opts.sizeCheckedByBroker ? Infinity : undefined);
  }

  override _read(): void {
    this.stream.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.forward([chunk], done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    this.forward(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  /** Writes through to the socket; `done` runs when the socket has sent the bytes, as a plain socket's write callback does. */
  private forward(chunks: Buffer[], done: (err?: Error | null) => void): void {
    const { stream } = this;
    let flowing = true;
    stream.cork();
    chunks.forEach((chunk, i) => {
      flowing = stream.write(chunk, i === chunks.length - 1 ? (err) => done(err ?? null) : undefined);
    });
    stream.uncork();
    if (!flowing && !this.drainTimer) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = null;
        const reason = `did not read for ${this.opts.drainTimeoutMs} ms (drain timeout)`;
        this.opts.onRefused(reason);
        this.destroy(new Error(reason));
      }, this.opts.drainTimeoutMs);
      stream.once('drain', () => this.clearDrainTimer());
    }
  }

  private clearDrainTimer(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
  }

  override _final(done: (err?: Error | null) => void): void {
    this.stream.end();
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.clearDrainTimer();
    this.stream.destroy();
    if (this.stream !== this.socket) this.socket.destroy();
    done(err);
  }
}
