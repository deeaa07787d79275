import { CliError } from './args.js';

export const DEFAULT_URL = 'http://localhost:8080';

export interface RestReply {
  status: number;
  headers: Headers;
  body: unknown;
}

/** An error reply from the emulator, printed the way the oci CLI prints a ServiceError. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly opcRequestId: string | null,
    readonly operation: string,
  ) {
    super(message);
  }

  render(): string {
    const body = { code: this.code, message: this.message, 'opc-request-id': this.opcRequestId, operation_name: this.operation, status: this.status };
    return `ServiceError:\n${JSON.stringify(body, null, 4)}`;
  }
}

/** The emulator's base URL: what the user gave, with no trailing slash and no API version path. */
export function baseUrl(given: string): string {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new CliError(`--url "${given}" is not a URL (e.g. ${DEFAULT_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--url "${given}" must be an http:// or https:// URL`);
  // `oci --endpoint` users may paste the versioned base; the paths below add it themselves.
  return url.href.replace(/\/+$/, '').replace(/\/20250531$/, '');
}

export async function rest(base: string, operation: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<RestReply> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(
      `cannot reach the emulator at ${base} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running? Point --url or OCI_IOT_URL at it`,
    );
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(`${base} answered ${method} ${path} with something that is not JSON; is --url pointing at the emulator?`);
    }
  }
  if (res.status >= 400) {
    const error = (parsed ?? {}) as { code?: string; message?: string };
    throw new ServiceError(res.status, error.code ?? 'Unknown', error.message ?? `HTTP ${res.status}`, res.headers.get('opc-request-id'), operation);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
