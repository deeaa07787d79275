import { createRequire } from 'node:module';
import pino, { type Level, type Logger } from 'pino';
import type prettyFactory from 'pino-pretty';

// Loaded only for a terminal: services, containers and CI never pay its start-up cost.
const require = createRequire(import.meta.url);

export type LogLevel = Level | 'silent';

/**
 * The emulator's logger: coloured, human-readable lines for someone watching a terminal,
 * one JSON object per line for log collectors (containers, CI) where stdout is not a TTY.
 * pino-pretty runs as an in-process stream rather than a worker transport, so a log line
 * is on the terminal before the next banner line and nothing is left running at exit.
 */
export function createLogger(level: LogLevel, opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const destination = opts.destination ?? process.stdout;
  const wantPretty = opts.pretty ?? (destination as { isTTY?: boolean }).isTTY === true;
  if (!wantPretty) return pino({ level }, destination);
  const pretty = require('pino-pretty') as typeof prettyFactory;
  return pino(
    { level },
    pretty({ destination, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }),
  );
}
