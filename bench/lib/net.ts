import { createConnection, createServer } from 'node:net';
import http from 'node:http';
import { sleep } from './proc.js';

/** A port nothing listens on right now (the OS picks it); used where ports must be known up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True once a TCP connection to the port is accepted. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls every `everyMs` until each port accepts; resolves with performance.now() at that moment. */
export async function waitForPorts(ports: readonly number[], timeoutMs: number, everyMs = 1): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const pending = new Set(ports);
  while (pending.size > 0) {
    if (performance.now() > deadline) throw new Error(`ports ${[...pending].join(', ')} not accepting after ${timeoutMs} ms`);
    for (const port of [...pending]) if (await accepts(port)) pending.delete(port);
    if (pending.size > 0) await sleep(everyMs);
  }
  return performance.now();
}

export interface JsonReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** One JSON request over a keep-alive agent; the body is parsed when there is one. */
export function requestJson(agent: http.Agent, method: string, url: string, body?: unknown): Promise<JsonReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text.length ? (JSON.parse(text) as unknown) : null;
          } catch {
            // left as text: error pages are reported as they came
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Runs `count` tasks with at most `concurrency` in flight; results keep their index. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}
