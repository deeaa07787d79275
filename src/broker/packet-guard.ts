/**
 * Judges MQTT packets by their fixed header alone (type and declared remaining length),
 * as bytes stream past, so an oversized packet is refused before its body is buffered
 * anywhere. mqtt-packet and Aedes 1.2 have no size limit of their own.
 */
export interface PacketSizeLimits {
  /** Largest whole packet (fixed header included) once the device is logged in. */
  maxPacketSize: number;
  /** Largest packet before the CONNECT has been authenticated. */
  maxConnectSize: number;
}

const NAMES = [
  'reserved', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP',
  'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'reserved',
] as const;

export interface HeaderScanner {
  /** Returns why the stream must be closed, or null while every header so far is acceptable. */
  feed(chunk: Buffer): string | null;
  /** Raises the limit (to `maxPacketSize`, or the one given) for packets whose header starts after this call. */
  authenticated(maxPacketSize?: number): void;
}

export function createHeaderScanner(limits: PacketSizeLimits): HeaderScanner {
  let loggedIn = false;
  let first = true;
  let state: 'type' | 'length' | 'body' = 'type';
  let type = 0;
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  let loggedInLimit = limits.maxPacketSize;

  return {
    authenticated(maxPacketSize = limits.maxPacketSize) {
      loggedIn = true;
      loggedInLimit = maxPacketSize;
    },
    feed(chunk) {
      let i = 0;
      while (i < chunk.length) {
        if (state === 'body') {
          const take = Math.min(remaining, chunk.length - i);
          i += take;
          remaining -= take;
          if (remaining === 0) state = 'type';
          continue;
        }
        const byte = chunk[i++];
        if (state === 'type') {
          type = byte >> 4;
          // MQTT-3.1.0-1: anything else first is a protocol violation, whatever its size.
          if (first && type !== 1) return `first packet is ${NAMES[type]}, not CONNECT`;
          first = false;
          length = 0;
          multiplier = 1;
          lengthBytes = 0;
          state = 'length';
          continue;
        }
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes++;
        if (byte & 0x80) {
          // The remaining length takes at most four bytes (MQTT 3.1.1 section 2.2.3).
          if (lengthBytes === 4) return 'malformed remaining length';
          continue;
        }
        const size = 1 + lengthBytes + length;
        const limit = loggedIn ? loggedInLimit : limits.maxConnectSize;
        if (size > limit) {
          const phase = loggedIn ? '' : ' before authentication';
          return `${NAMES[type]} of ${size} bytes is over the limit of ${limit} bytes${phase}`;
        }
        remaining = length;
        state = remaining === 0 ? 'type' : 'body';
      }
      return null;
    },
  };
}
