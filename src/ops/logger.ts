import pino, { type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';

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
  return pino(
    { level },
    pretty({ destination, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }),
  );
}
