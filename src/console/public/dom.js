// What both console modules build their views with: plain DOM helpers and the one way
// they call the emulator's routes. Values are always set as text, never as HTML.

export const $ = (selector, root = document) => root.querySelector(selector);

/** Builds an element; string children become text nodes, `on<event>` attributes listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'className') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

/** Calls one of the emulator's routes; `data` is the parsed JSON reply, or its text. */
export async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { ok: res.ok, status: res.status, headers: res.headers, data };
}

/** OCI errors are `{code, message}`; show both, as the OCI SDKs do. */
export const errorText = (reply) =>
  reply.data && typeof reply.data === 'object' && reply.data.code ? `${reply.data.code}: ${reply.data.message}` : `HTTP ${reply.status}`;

export const fmtTime = (iso) => (iso ? iso.slice(11, 23) : '');
