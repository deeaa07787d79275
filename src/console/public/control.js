// The console's Test control view: virtual devices (add one to a device, see its traffic
// live), webhooks with their delivery attempts, and device and API faults. Plain DOM like
// console.js; live traffic and attempts arrive on /emulator/control/events, never polled.
// Values are always set as text, never as HTML.

import { $, api, el, errorText, fmtTime } from './dom.js';

const TRAFFIC_SHOWN = 100;

const state = { devices: [], virtualDevices: new Map(), webhooks: [], faults: [] };

function showError(id, reply) {
  const node = $(id);
  node.textContent = reply && !reply.ok ? errorText(reply) : '';
  node.hidden = !reply || reply.ok;
}

// ---- virtual devices ---------------------------------------------------------------

const EXAMPLE_VALUES = {
  temperature: { kind: 'sine', offset: 21, amplitude: 2, period: 'PT1M' },
  humidity: { kind: 'randomWalk', start: 45, step: 1, min: 30, max: 60 },
};

function renderDeviceChoices() {
  for (const select of document.querySelectorAll('select[data-devices]')) {
    const current = select.value;
    select.replaceChildren(...state.devices.map((d) => el('option', { value: d.instanceId }, `${d.displayName}${d.online ? ' (online)' : ''}`)));
    if (current) select.value = current;
  }
}

function vdRow(v) {
  const c = v.config;
  const answer = !c.response ? 'never answers' : c.response.kind === 'echo' ? 'echo' : c.response.kind === 'json' ? `JSON ${JSON.stringify(c.response.value)}` : `jq ${c.response.expression}`;
  const action = (label, path, method = 'POST') =>
    el('button', { type: 'button', className: 'small-button', onclick: async () => {
      if (method === 'DELETE' && !confirm(`Remove the virtual device of ${v.displayName ?? v.instanceId}? It disconnects and its settings are deleted; the device (its digital twin instance) stays.`)) return;
      const reply = await api(method, `/emulator/virtual-devices/${encodeURIComponent(v.id)}${path}`);
      showError('#vd-error', reply);
      await loadVirtualDevices();
    } }, label);
  return el(
    'tr',
    { dataset: { virtualDeviceId: v.id } },
    el('td', { dataset: { col: 'name' } }, v.displayName ?? v.instanceId),
    el('td', { dataset: { col: 'status' } }, el('span', { className: `badge ${v.connected ? 'online' : 'offline'}` }, v.running ? (v.connected ? 'connected' : 'connecting') : 'stopped')),
    el('td', { dataset: { col: 'answers' }, className: 'small' }, answer, c.responseDelay ? el('div', { className: 'muted' }, `after ${c.responseDelay}`) : null),
    el('td', { dataset: { col: 'telemetry' }, className: 'small' }, c.telemetry ? `${Object.keys(c.telemetry.values ?? {}).join(', ')} on ${c.telemetry.endpoint} every ${c.telemetry.every}` : el('span', { className: 'muted' }, 'none')),
    el('td', { dataset: { col: 'counts' }, className: 'small' }, `${v.commandsReceived} commands · ${v.responsesSent} responses · ${v.telemetrySent} telemetry`),
    el('td', {}, v.running ? action('Stop', '/stop') : action('Start', '/start'), ' ', action('Remove', '', 'DELETE')),
  );
}

async function loadVirtualDevices() {
  const reply = await api('GET', '/emulator/virtual-devices');
  if (!reply.ok) return;
  state.virtualDevices = new Map(reply.data.items.map((v) => [v.id, v]));
  const rows = [...state.virtualDevices.values()].map(vdRow);
  $('#virtual-devices tbody').replaceChildren(...rows);
  $('#virtual-devices').hidden = rows.length === 0;
  $('#no-virtual-devices').hidden = rows.length > 0;
}

async function addVirtualDevice(event) {
  event.preventDefault();
  const f = event.target.elements;
  const kind = f.responseKind.value;
  const config = { instanceId: f.instance.value, endpoints: f.endpoints.value.split(',').map((s) => s.trim()).filter(Boolean) };
  const problem = (message) => showError('#vd-error', { ok: false, status: 400, data: { code: 'InvalidParameter', message } });
  if (!config.instanceId) return problem('Create a device first (Devices view).');
  if (kind === 'none') config.response = null;
  else if (kind === 'jq') config.response = { kind: 'jq', expression: f.responseValue.value };
  else if (kind === 'json') {
    try {
      config.response = { kind: 'json', value: JSON.parse(f.responseValue.value) };
    } catch (err) {
      return problem(`The response is not valid JSON: ${err.message}`);
    }
  } else config.response = { kind: 'echo' };
  if (f.responseDelay.value.trim()) config.responseDelay = f.responseDelay.value.trim();
  if (f.telemetryEndpoint.value.trim()) {
    config.telemetry = { endpoint: f.telemetryEndpoint.value.trim(), every: f.telemetryEvery.value.trim() };
    if (f.telemetryValues.value.trim()) {
      try {
        config.telemetry.values = JSON.parse(f.telemetryValues.value);
      } catch (err) {
        return problem(`The telemetry values are not valid JSON: ${err.message}`);
      }
    }
  }
  const reply = await api('POST', '/emulator/virtual-devices', config);
  showError('#vd-error', reply);
  if (reply.ok) await loadVirtualDevices();
}

function addTraffic(e) {
  const v = state.virtualDevices.get(e.virtualDeviceId);
  const row = el(
    'tr',
    { dataset: { kind: e.kind } },
    el('td', {}, fmtTime(e.time)),
    el('td', {}, v?.displayName ?? e.instanceId),
    el('td', {}, el('span', { className: `badge traffic-${e.kind}` }, e.kind)),
    el('td', {}, e.topic ? el('code', {}, e.topic) : ''),
    el('td', {}, e.payload !== undefined ? el('pre', { className: 'data' }, e.payload) : e.message ?? ''),
  );
  const tbody = $('#vd-traffic tbody');
  tbody.prepend(row);
  while (tbody.rows.length > TRAFFIC_SHOWN) tbody.deleteRow(-1);
  $('#vd-traffic').hidden = false;
  if (v) {
    if (e.kind === 'command') v.commandsReceived++;
    if (e.kind === 'response') v.responsesSent++;
    if (e.kind === 'telemetry') v.telemetrySent++;
    if (e.kind === 'connected' || e.kind === 'disconnected') v.connected = e.kind === 'connected';
    $(`#virtual-devices tr[data-virtual-device-id="${CSS.escape(v.id)}"]`)?.replaceWith(vdRow(v));
  } else {
    // An event of a device this page does not list yet (one just added, whose list reply is
    // still on its way or was read before it connected): read the list again, or its
    // state would stay as that reply said.
    void loadVirtualDevices();
  }
}

// ---- webhooks ----------------------------------------------------------------------

async function loadWebhooks() {
  const reply = await api('GET', '/emulator/webhooks');
  if (!reply.ok) return;
  state.webhooks = reply.data.items;
  const rows = state.webhooks.map((w) =>
    el(
      'tr',
      { dataset: { webhookId: w.id } },
      el('td', {}, el('code', {}, w.url)),
      el('td', {}, w.events.join(', ')),
      el('td', { dataset: { col: 'counts' } }, `${w.delivered} delivered · ${w.pending} pending · ${w.failed} given up`),
      el('td', { className: 'small' }, el('code', {}, w.secret)),
      el('td', {}, el('button', { type: 'button', className: 'small-button', onclick: async () => {
        if (!confirm(`Remove the webhook ${w.url}? Deliveries not yet made are dropped.`)) return;
        showError('#webhook-error', await api('DELETE', `/emulator/webhooks/${encodeURIComponent(w.id)}`));
        await loadWebhooks();
      } }, 'Remove')),
    ),
  );
  $('#webhooks tbody').replaceChildren(...rows);
  $('#webhooks').hidden = rows.length === 0;
}

async function addWebhook(event) {
  event.preventDefault();
  const f = event.target.elements;
  const events = ['command', 'telemetry'].filter((e) => f[e].checked);
  const reply = await api('POST', '/emulator/webhooks', { url: f.url.value.trim(), events });
  showError('#webhook-error', reply);
  if (reply.ok) {
    event.target.reset();
    await loadWebhooks();
  }
}

function addAttempt(a) {
  const hook = state.webhooks.find((w) => w.id === a.webhookId);
  const row = el(
    'tr',
    { dataset: { ok: String(a.ok) } },
    el('td', {}, new Date().toISOString().slice(11, 23)),
    el('td', {}, hook ? el('code', {}, hook.url) : a.webhookId),
    el('td', {}, `delivery ${a.deliveryId}, attempt ${a.attempt}`),
    el('td', {}, el('span', { className: `badge ${a.ok ? 'online' : 'REFUSED'}` }, a.ok ? `delivered (${a.httpStatus})` : a.status === 'FAILED' ? 'given up' : 'failed, will retry')),
    el('td', { className: 'small' }, a.error ?? ''),
  );
  const tbody = $('#webhook-attempts tbody');
  tbody.prepend(row);
  while (tbody.rows.length > TRAFFIC_SHOWN) tbody.deleteRow(-1);
  $('#webhook-attempts').hidden = false;
  void loadWebhooks();
}

// ---- faults ------------------------------------------------------------------------

async function loadFaults() {
  const reply = await api('GET', '/emulator/faults');
  if (!reply.ok) return;
  state.faults = reply.data.items;
  const name = (id) => state.devices.find((d) => d.instanceId === id)?.displayName ?? id;
  const rows = state.faults.map((f) =>
    el(
      'tr',
      { dataset: { faultId: String(f.id), active: String(f.active) } },
      el('td', {}, String(f.id)),
      el('td', {}, f.scope === 'device' ? name(f.instanceId) : `API ${f.operation}`),
      el('td', {}, f.kind, f.delay ? ` ${f.delay}` : '', f.fraction ? ` ${f.fraction}` : ''),
      el('td', {}, `applied ${f.applied} of ${f.considered}${f.remaining === null ? '' : `, ${f.remaining} left`}`),
      el('td', {}, f.active ? el('button', { type: 'button', className: 'small-button', onclick: async () => {
        showError('#fault-error', await api('DELETE', `/emulator/faults/${f.id}`));
        await loadFaults();
      } }, 'Clear') : el('span', { className: 'muted' }, f.timeCleared ? 'cleared' : 'used up')),
    ),
  );
  $('#faults tbody').replaceChildren(...rows);
  $('#faults').hidden = rows.length === 0;
}

async function setFault(event) {
  event.preventDefault();
  const f = event.target.elements;
  const body = { instanceId: f.instance.value, kind: f.kind.value };
  if (f.count.value) body.count = Number(f.count.value);
  if (body.kind === 'delay') body.delay = f.delay.value || 'PT10S';
  const reply = await api('POST', '/emulator/faults', body);
  showError('#fault-error', reply);
  if (reply.ok) await loadFaults();
}

async function setApiFault(event) {
  event.preventDefault();
  const f = event.target.elements;
  const body = { operation: f.operation.value, kind: f.kind.value, when: f.when.value };
  if (f.count.value) body.count = Number(f.count.value);
  if (body.kind === 'delay') body.delay = f.delay.value || 'PT10S';
  const reply = await api('POST', '/emulator/faults', body);
  showError('#api-fault-error', reply);
  if (reply.ok) await loadFaults();
}

/** The OCI operations an API fault may name, once: they do not change while the emulator runs. */
async function loadOperations() {
  const select = $('#api-fault-form select[name="operation"]');
  if (select.options.length > 1) return;
  const reply = await api('GET', '/emulator/faults/operations');
  if (!reply.ok) return;
  select.append(...reply.data.items.map((op) => el('option', { value: op }, op)));
}

// ---- start -------------------------------------------------------------------------

async function loadAll() {
  const devices = await api('GET', '/emulator/devices');
  if (devices.ok) state.devices = devices.data.items;
  renderDeviceChoices();
  await Promise.all([loadVirtualDevices(), loadWebhooks(), loadFaults(), loadOperations()]);
}

function start() {
  $('#vd-form').addEventListener('submit', addVirtualDevice);
  $('#webhook-form').addEventListener('submit', addWebhook);
  $('#fault-form').addEventListener('submit', setFault);
  $('#api-fault-form').addEventListener('submit', setApiFault);
  $('#vd-form').elements.telemetryValues.value = JSON.stringify(EXAMPLE_VALUES, null, 2);
  // Nothing is fetched until the view is opened: the other views do not pay for this one.
  let events = null;
  const shown = () => {
    if (location.hash !== '#control') return;
    if (!events) {
      events = new EventSource('/emulator/control/events');
      events.addEventListener('traffic', (e) => addTraffic(JSON.parse(e.data)));
      events.addEventListener('webhook-attempt', (e) => addAttempt(JSON.parse(e.data)));
    }
    void loadAll();
  };
  window.addEventListener('hashchange', shown);
  shown();
}

start();
