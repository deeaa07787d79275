/** How a device's bytes are shown in `response_data` / `raw_data`: JSON, else text, else base64. */
export interface ClassifiedPayload {
  format: 'JSON' | 'TEXT' | 'BINARY';
  contentType: string;
  /** The text form stored in `response_data`. */
  text: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function classifyPayload(payload: Buffer): ClassifiedPayload {
  let text: string | undefined;
  try {
    text = utf8.decode(payload);
  } catch {
    return { format: 'BINARY', contentType: 'application/octet-stream', text: payload.toString('base64') };
  }
  if (text.trim().length > 0) {
    try {
      JSON.parse(text);
      return { format: 'JSON', contentType: 'application/json', text };
    } catch {
      /* not JSON: plain text */
    }
  }
  return { format: 'TEXT', contentType: 'text/plain', text };
}

export const DEFAULT_CONTENT_TYPE = {
  JSON: 'application/json',
  TEXT: 'text/plain',
  BINARY: 'application/octet-stream',
} as const;
