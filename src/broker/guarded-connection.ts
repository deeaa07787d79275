import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createHeaderScanner, type PacketSizeLimits } from './packet-guard.js';

export interface ConnectionGuardOptions extends PacketSizeLimits {
  /** A device that leaves written bytes unread this long is dropped. */
  drainTimeoutMs: number;
  /** Told why the connection is being closed by the guard. */
  onRefused(reason: string): void;
}

/**
 * What Aedes sees instead of the TLS socket. Inbound bytes pass a fixed-header check
 * before anything buffers them; outbound writes that the socket cannot flush within the
 * drain timeout drop the device. It covers the commands the broker writes itself, which
 * Aedes' own drainTimeout never sees.
 */
export class GuardedConnection extends Duplex {
  private readonly scanner;
  private drainTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly socket: TLSSocket,
    private readonly opts: ConnectionGuardOptions,
  ) {
    super();
    this.scanner = createHeaderScanner(opts);
    // MQTT packets are small and a device waits for each answer. With Nagle on, the CONNACK
    // sat behind the TLS session tickets until the client's delayed ACK: 40 ms per login.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const refusal = this.scanner.feed(chunk);
      if (refusal) {
        opts.onRefused(refusal);
        this.destroy(new Error(refusal));
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /** The address the device connected from, as a plain socket would report it. */
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  /** The device logged in: its packets may now be as large as maxPacketSize. */
  authenticated(): void {
    this.scanner.authenticated();
  }

  override _read(): void {
    this.socket.resume();
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
    const { socket } = this;
    let flowing = true;
    socket.cork();
    chunks.forEach((chunk, i) => {
      flowing = socket.write(chunk, i === chunks.length - 1 ? (err) => done(err ?? null) : undefined);
    });
    socket.uncork();
    if (!flowing && !this.drainTimer) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = null;
        const reason = `did not read for ${this.opts.drainTimeoutMs} ms (drain timeout)`;
        this.opts.onRefused(reason);
        this.destroy(new Error(reason));
      }, this.opts.drainTimeoutMs);
      socket.once('drain', () => this.clearDrainTimer());
    }
  }

  private clearDrainTimer(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.clearDrainTimer();
    this.socket.destroy();
    done(err);
  }
}
