import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { RETRY_AFTER_SECONDS, storageFault } from '../store/storage-errors.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { Inbound } from './inbound.js';
import type { WriteBatch } from '../store/write-batch.js';
import type { DeviceLogin } from './device-login.js';
import { pathOf } from './https-listener.js';
import type { BrokerLog } from './log.js';
import { normalizeAddress } from './login.js';

/**
 * HTTPS device publish: `POST /<endpoint>` with Basic auth (external key and the secret's
 * text) or the device's client certificate, as in Oracle's publish-https samples. The body
 * is taken like an MQTT publish on topic `<endpoint>` (raw_data, or the response of a
 * command awaiting one there), in the batch of device writes; 202 once it is committed.
 */
export function httpsPublishHandler(deps: {
  login: DeviceLogin;
  batch: WriteBatch;
  signals: Inbound;
  /** The largest body taken, in bytes: the same as the largest MQTT packet. */
  maxBodySize: number;
  log: BrokerLog;
  /** Where a storage fault (full disk) is noted: the device is told 503, to send it again later. */
  storage?: StorageHealth;
}) {
  const { login, batch, signals, maxBodySize, log, storage } = deps;

  /** `expectsContinue`: the client waits for 100 Continue before it sends the body (curl does for large ones). */
  return function publish(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    if (req.method !== 'POST') {
      return refuse(req, res, 405, 'NotAllowed', 'devices POST their data to /<endpoint>', { allow: 'POST' });
    }
    let endpoint: string;
    try {
      endpoint = decodeURIComponent(pathOf(req.url).slice(1));
    } catch {
      return refuse(req, res, 400, 'InvalidParameter', 'the endpoint in the path is not valid percent-encoding');
    }
    if (endpoint === '') return refuse(req, res, 400, 'InvalidParameter', 'the endpoint is the path: POST /<endpoint>');
    if (endpoint.startsWith('$SYS')) return refuse(req, res, 400, 'InvalidParameter', '$SYS endpoints are reserved');

    const socket = req.socket as TLSSocket;
    const basic = basicCredentials(req.headers.authorization);
    const outcome = login({
      facts: undefined,
      username: basic?.username,
      password: basic?.password,
      address: normalizeAddress(socket.remoteAddress),
      peerCertificate: socket.getPeerX509Certificate(),
      servername: socket.servername,
    });
    if (!outcome.ok) {
      log('info', 'device login refused', { username: basic?.username, transport: 'https', reason: outcome.reason });
      if (outcome.returnCode === 3) {
        return refuse(req, res, 429, 'TooManyRequests', outcome.reason, { 'retry-after': String(Math.ceil((outcome.retryAfterMs ?? 1000) / 1000)) });
      }
      return refuse(req, res, 401, 'NotAuthenticated', outcome.reason, { 'www-authenticate': 'Basic realm="oci-iot-emulator device"' });
    }
    const instanceId = outcome.instance.id;

    const declared = Number(req.headers['content-length']);
    if (declared > maxBodySize) return refuse(req, res, 413, 'PayloadTooLarge', `the body is larger than ${maxBodySize} bytes`);
    if (expectsContinue) res.writeContinue();
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > maxBodySize) {
        over = true;
        refuse(req, res, 413, 'PayloadTooLarge', `the body is larger than ${maxBodySize} bytes`);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) return;
      const body = Buffer.concat(chunks, size);
      batch.add(
        () => signals.published(instanceId, endpoint, body),
        (err) => {
          const fault = err && (storage ? storage.failed(err, 'HTTPS publish') : storageFault(err));
          if (fault) {
            return send(res, 503, { code: 'ServiceUnavailable', message: `the data was not stored: ${fault.message}; send it again later` }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
          }
          if (err) {
            log('warn', 'HTTPS publish not stored', { instanceId, endpoint, err: String(err) });
            return send(res, 500, { code: 'InternalServerError', message: 'the data was not stored; send it again' });
          }
          res.writeHead(202, { 'content-length': '0' }).end();
        },
      );
    });
  };
}

function basicCredentials(header: string | undefined): { username: string; password: Buffer } | null {
  const m = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return null;
  return { username: decoded.subarray(0, colon).toString('utf8'), password: decoded.subarray(colon + 1) };
}

function send(res: ServerResponse, status: number, body: { code: string; message: string }, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

/**
 * Answers an error without reading the rest of the body: with `connection: close` Node ends
 * the socket once the answer is written, so a large unwanted body is never taken in.
 */
function refuse(_req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { code, message }, { connection: 'close', ...headers });
}
