import { invalid, missing } from '../errors.js';
import { parseDuration } from '../durations.js';
import { DEFAULT_CONTENT_TYPE } from './payload.js';

export type DataFormat = 'JSON' | 'TEXT' | 'BINARY';
export const DATA_FORMATS: readonly DataFormat[] = ['JSON', 'TEXT', 'BINARY'];
export const MAX_REQUEST_DATA_BYTES = 256 * 1024;

/** The body of invokeRawCommand as OCI defines it (InvokeRaw{Json,Text,Binary}CommandDetails). */
export interface InvokeRawCommandDetails {
  requestDataFormat?: unknown;
  requestEndpoint?: unknown;
  requestDuration?: unknown;
  requestData?: unknown;
  requestDataContentType?: unknown;
  responseEndpoint?: unknown;
  responseDuration?: unknown;
}

/** A command request that passed every check, with its defaults filled in. */
export interface CommandRequest {
  format: DataFormat;
  requestEndpoint: string;
  requestDuration: string;
  requestDurationMs: number;
  /** What `request_data` shows: compact JSON, the text, or base64. Null when no data was given. */
  requestData: string | null;
  /** The bytes the device receives. */
  payload: Buffer;
  contentType: string;
  responseEndpoint: string | null;
  responseDuration: string | null;
  responseDurationMs: number | null;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Validates an invokeRawCommand body. Throws an OciError (400) naming the first field
 * that is wrong, so nothing is stored for a bad request.
 */
export function parseCommandRequest(
  body: InvokeRawCommandDetails,
  defaults: { requestDuration: string; responseDuration: string },
): CommandRequest {
  if (body.requestDataFormat === undefined || body.requestDataFormat === null) {
    throw missing('requestDataFormat is required (one of JSON, TEXT, BINARY)');
  }
  if (!DATA_FORMATS.includes(body.requestDataFormat as DataFormat)) {
    throw invalid(`requestDataFormat "${String(body.requestDataFormat)}" is not one of JSON, TEXT, BINARY`);
  }
  const format = body.requestDataFormat as DataFormat;
  if (body.requestEndpoint === undefined || body.requestEndpoint === null) throw missing('requestEndpoint is required');
  const requestEndpoint = topicName('requestEndpoint', body.requestEndpoint);
  const responseEndpoint =
    body.responseEndpoint === undefined || body.responseEndpoint === null
      ? null
      : topicName('responseEndpoint', body.responseEndpoint);

  const requestDuration = durationField('requestDuration', body.requestDuration ?? defaults.requestDuration);
  const responseDuration =
    body.responseDuration !== undefined && body.responseDuration !== null
      ? durationField('responseDuration', body.responseDuration)
      : responseEndpoint !== null
        ? durationField('responseDuration', defaults.responseDuration)
        : null;

  let requestData: string | null = null;
  let payload = Buffer.alloc(0);
  const data = body.requestData;
  if (data !== undefined && data !== null) {
    switch (format) {
      case 'JSON':
        if (typeof data !== 'object' || Array.isArray(data)) {
          throw invalid('requestData must be a JSON object when requestDataFormat is JSON');
        }
        requestData = JSON.stringify(data);
        payload = Buffer.from(requestData, 'utf8');
        break;
      case 'TEXT':
        if (typeof data !== 'string') throw invalid('requestData must be a string when requestDataFormat is TEXT');
        requestData = data;
        payload = Buffer.from(data, 'utf8');
        break;
      case 'BINARY': {
        if (typeof data !== 'string') throw invalid('requestData must be a base64 string when requestDataFormat is BINARY');
        const compact = data.replace(/\s+/g, '');
        if (!BASE64.test(compact)) throw invalid('requestData is not valid base64');
        requestData = compact;
        payload = Buffer.from(compact, 'base64');
        break;
      }
    }
    if (payload.length > MAX_REQUEST_DATA_BYTES) {
      throw invalid(`requestData is ${payload.length} bytes; the maximum is ${MAX_REQUEST_DATA_BYTES} (256 KiB)`);
    }
  }

  let contentType: string = DEFAULT_CONTENT_TYPE[format];
  if (body.requestDataContentType !== undefined && body.requestDataContentType !== null) {
    if (typeof body.requestDataContentType !== 'string' || body.requestDataContentType.length === 0 || body.requestDataContentType.length > 255) {
      throw invalid('requestDataContentType must be a non-empty string of at most 255 characters');
    }
    contentType = body.requestDataContentType;
  }

  return {
    format,
    requestEndpoint,
    requestDuration: requestDuration.text,
    requestDurationMs: requestDuration.ms,
    requestData,
    payload,
    contentType,
    responseEndpoint,
    responseDuration: responseDuration?.text ?? null,
    responseDurationMs: responseDuration?.ms ?? null,
  };
}

/** An endpoint is an MQTT topic name the platform publishes to, so wildcards cannot be in it. */
function topicName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${field} must be a non-empty string`);
  if (Buffer.byteLength(value) > 65535) throw invalid(`${field} is longer than an MQTT topic can be`);
  if (/[+#\u0000]/.test(value)) throw invalid(`${field} "${value}" must not contain the MQTT wildcards + or #`);
  if (value.startsWith('$')) throw invalid(`${field} "${value}" must not start with $ (reserved for the broker)`);
  return value;
}

function durationField(field: string, value: unknown): { text: string; ms: number } {
  if (typeof value !== 'string') throw invalid(`${field} must be an ISO 8601 duration string such as PT3M`);
  const parsed = parseDuration(value);
  if (!parsed.ok) throw invalid(`${field} "${value}" ${parsed.reason}`);
  return { text: value, ms: parsed.ms };
}
