/**
 * Where the invoker waits for its commands and the devices report them done. Commands
 * are keyed by a sequence number the invoker puts into the request data, because the
 * device may see a command before the invoke's HTTP reply (with the id) arrives.
 */
export class Completions {
  readonly #waiting = new Map<number, { resolve: (at: number | null) => void; timer: NodeJS.Timeout }>();
  /** When each awaited command reached its device, until the invoker takes it. */
  readonly #arrivals = new Map<number, number>();

  /** Resolves with performance.now() at completion, or null after `timeoutMs`. */
  expect(seq: number, timeoutMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(seq);
        resolve(null);
      }, timeoutMs);
      this.#waiting.set(seq, { resolve, timer });
    });
  }

  /** The device received the command (for a two-way command, before it answers). */
  arrived(seq: number): void {
    if (this.#waiting.has(seq)) this.#arrivals.set(seq, performance.now());
  }

  /** When the command reached its device (NaN if unknown), forgotten once taken. */
  takeArrival(seq: number): number {
    const at = this.#arrivals.get(seq) ?? NaN;
    this.#arrivals.delete(seq);
    return at;
  }

  done(seq: number): void {
    const now = performance.now();
    const entry = this.#waiting.get(seq);
    if (!entry) return;
    this.#waiting.delete(seq);
    clearTimeout(entry.timer);
    entry.resolve(now);
  }

  /** Gives up on a command whose invoke failed. */
  cancel(seq: number): void {
    this.#arrivals.delete(seq);
    const entry = this.#waiting.get(seq);
    if (!entry) return;
    this.#waiting.delete(seq);
    clearTimeout(entry.timer);
    entry.resolve(null);
  }
}

/** The request data of a benchmark command; `w` marks a two-way command the device answers. */
export interface CommandData {
  s: number;
  w: 0 | 1;
}

export function parseCommandData(payload: Buffer): CommandData | null {
  try {
    const data = JSON.parse(payload.toString('utf8')) as Partial<CommandData>;
    return typeof data.s === 'number' ? { s: data.s, w: data.w === 1 ? 1 : 0 } : null;
  } catch {
    return null;
  }
}
