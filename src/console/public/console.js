// The emulator console: plain DOM, no framework, no build step. Everything shown comes
// from the emulator's own routes; live state arrives as server-sent events, never polled.
// Values are always set as text, never as HTML: payloads come from devices and callers.

import { $, api, el, errorText, fmtTime } from './dom.js';

const SEED_COMMAND = {
  requestDataFormat: 'JSON',
  requestEndpoint: '/endpoints/1234',
  requestDuration: 'PT3M',
  requestData: { temp: 33 },
  responseEndpoint: '/endpoints/4321',
  responseDuration: 'PT3M',
};

const VIEWS = ['domain', 'devices', 'commands', 'sql', 'twin', 'control'];

/** @type {{ devices: Map<string, any>, commands: Map<number, any>, info: any }} */
const state = { devices: new Map(), commands: new Map(), info: null, twin: null, chart: null, devicePicked: false, commandEdited: false };

function fmtDelta(fromIso, toIso) {
  if (!fromIso || !toIso) return '';
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (ms < 1000) return `+${ms} ms`;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(1)} s`;
  const min = Math.floor(ms / 60_000);
  return `+${min} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function setFields(root, values) {
  for (const node of root.querySelectorAll('[data-field]')) {
    const key = node.dataset.field;
    if (key in values) node.textContent = String(values[key] ?? '');
  }
}

function showError(node, message) {
  node.textContent = message;
  node.hidden = !message;
}

// ---- views -------------------------------------------------------------------------

function showView() {
  // #twin/<instanceId> is one device's page.
  const [wanted, arg] = location.hash.slice(1).split('/');
  const view = VIEWS.includes(wanted) ? wanted : 'domain';
  state.twin = view === 'twin' && arg ? decodeURIComponent(arg) : null;
  if (state.twin) void loadTwin();
  for (const name of VIEWS) $(`#view-${name}`).hidden = name !== view;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// ---- domain ------------------------------------------------------------------------

async function loadInfo() {
  const reply = await api('GET', '/emulator/info');
  if (!reply.ok) return;
  const i = reply.data;
  state.info = i;
  setFields($('#domain-info'), {
    deviceHost: i.deviceHost,
    mqttPort: i.mqttPort,
    mqttProtocol: i.mqttProtocol,
    wssUrl: i.wssUrl,
    httpsUrl: i.httpsUrl,
    caFile: i.caFile,
    apiBaseUrl: i.apiBaseUrl,
    dataApiUrl: i.dataApiUrl,
    domainId: i.domain.id,
    shortId: i.domain.shortId,
    groupId: i.domain.groupId,
    clock: clockText(i.clock),
  });
  $('#advance-clock').hidden = i.clock.kind !== 'manual';
  renderDomains(i.domains ?? []);
}

/** Every live domain, in the domain view and as the choice of where a new device goes. */
function renderDomains(domains) {
  $('#domains tbody').replaceChildren(
    ...domains.map((d) =>
      el(
        'tr',
        { dataset: { domainId: d.id } },
        el('td', {}, d.displayName),
        el('td', {}, el('code', {}, d.shortId)),
        el('td', {}, el('code', {}, d.deviceHost)),
        el('td', {}, el('code', {}, d.dataApiUrl)),
        el('td', {}, d.lifecycleState),
        el('td', {}, el('code', {}, d.id)),
      ),
    ),
  );
  const select = $('#create-device select[name=iotDomainId]');
  const current = select.value;
  select.replaceChildren(...domains.map((d) => el('option', { value: d.id }, `${d.displayName} (${d.deviceHost})`)));
  if (current && domains.some((d) => d.id === current)) select.value = current;
}

const clockText = (clock) => `${clock.kind} clock, now ${clock.now}`;

async function advanceClock(event) {
  event.preventDefault();
  const advance = new FormData(event.target).get('advance');
  const reply = await api('POST', '/emulator/clock', { advance });
  $('#clock-result').textContent = reply.ok ? '' : errorText(reply);
  if (reply.ok) setFields($('#domain-info'), { clock: clockText(reply.data) });
}

// ---- devices -----------------------------------------------------------------------

function renderDevices() {
  const devices = [...state.devices.values()];
  $('#devices tbody').replaceChildren(...devices.map(deviceRow));
  $('#no-devices').hidden = devices.length > 0;
  $('#devices').hidden = devices.length === 0;
  renderDeviceChoice();
}

function deviceRow(d) {
  const subs = d.subscriptions.length
    ? el('ul', { className: 'subs' }, ...d.subscriptions.map((s) => el('li', {}, el('code', {}, s.topic), ` QoS ${s.qos}`)))
    : el('span', { className: 'muted' }, 'none');
  const status = d.online ? 'online' : 'offline';
  const seen = d.lastSeen ? `${d.online ? 'connected' : 'last seen'} ${d.lastSeen}` : 'never connected';
  return el(
    'tr',
    { dataset: { instanceId: d.instanceId } },
    el('td', { dataset: { col: 'name' } }, d.displayName),
    el('td', { dataset: { col: 'username' } }, el('code', {}, d.externalKey)),
    el('td', { dataset: { col: 'status' } }, el('span', { className: `badge ${status}`, title: seen }, status)),
    el('td', { dataset: { col: 'client' } }, connectionsCell(d)),
    el('td', { dataset: { col: 'subscriptions' } }, subs),
    el('td', { dataset: { col: 'instance' }, className: 'ocid', title: d.instanceId }, el('code', {}, shortOcid(d.instanceId))),
    el('td', { dataset: { col: 'twin' } }, el('a', { href: `#twin/${encodeURIComponent(d.instanceId)}` }, 'Open')),
  );
}

/** One line per live connection (a device may hold several, one per client id); else the last one seen. */
function connectionsCell(d) {
  if (d.connections.length) {
    return el('ul', { className: 'subs' }, ...d.connections.map((c) =>
      el('li', {}, el('code', {}, c.clientId),
        el('span', { className: 'muted small' }, ` ${c.transport === 'wss' ? 'WSS' : 'MQTTS'}, ${c.persistentSession ? 'persistent' : 'clean'} session${c.gatewayId ? `, via gateway ${shortOcid(c.gatewayId)}` : ''}`))));
  }
  if (!d.clientId) return el('span', { className: 'muted' }, '—');
  return el('span', {}, el('code', {}, d.clientId),
    d.persistentSession !== null ? el('div', { className: 'muted small' }, d.persistentSession ? 'persistent session' : 'clean session') : null);
}

const shortOcid = (id) => (id.length > 40 ? `${id.slice(0, 30)}…${id.slice(-6)}` : id);

/**
 * The Commands page's device: the one the user picked, else an online device (one that
 * subscribes first), so the first invoke reaches a device instead of coming back REFUSED.
 */
function renderDeviceChoice() {
  const select = $('#invoke select');
  const current = select.value;
  const devices = [...state.devices.values()];
  select.replaceChildren(...devices.map((d) => el('option', { value: d.instanceId }, `${d.displayName} (${d.online ? 'online' : 'offline'})`)));
  if (state.devicePicked && state.devices.has(current)) select.value = current;
  else {
    const best = devices.find((d) => d.online && d.subscriptions.length) ?? devices.find((d) => d.online) ?? devices.find((d) => d.instanceId === current) ?? devices[0];
    if (best) select.value = best.instanceId;
  }
  fitCommandToDevice();
}

/** A topic a subscription filter matches: `cmd/#` gives `cmd/command`, `+` a level of `x`. */
function topicFor(filter) {
  const levels = filter.split('/').map((level) => (level === '#' ? 'command' : level === '+' ? 'x' : level));
  return levels.join('/');
}

/**
 * Until the user edits the command, its requestEndpoint is one the chosen device subscribes
 * to, so it is delivered; the rest of the example stays as it is.
 */
function fitCommandToDevice() {
  if (state.commandEdited) return;
  const device = state.devices.get($('#invoke select').value);
  const filter = device?.subscriptions.map((s) => s.topic).find((t) => !t.startsWith('$'));
  const command = { ...SEED_COMMAND, ...(filter && filter !== '#' ? { requestEndpoint: topicFor(filter) } : {}) };
  $('#invoke textarea').value = JSON.stringify(command, null, 2);
}

async function createDevice(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const displayName = String(data.get('displayName') ?? '').trim();
  const iotDomainId = String(data.get('iotDomainId') ?? '');
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const reply = await api('POST', '/emulator/devices', { ...(displayName ? { displayName } : {}), ...(iotDomainId ? { iotDomainId } : {}) });
    showError($('#create-device-error'), reply.ok ? '' : errorText(reply));
    if (!reply.ok) return;
    const { device, connection } = reply.data;
    state.devices.set(device.instanceId, device);
    renderDevices();
    $('#invoke select').value = device.instanceId;
    state.devicePicked = true;
    fitCommandToDevice();
    const card = $('#new-device');
    setFields(card, { ...connection, displayName: device.displayName, instanceId: device.instanceId });
    $('#mosquitto-sub').textContent = connection.mosquittoSub;
    card.hidden = false;
    form.querySelector('input[name=displayName]').value = '';
  } finally {
    button.disabled = false;
  }
}

async function copy(event) {
  const button = event.target.closest('button[data-copy]');
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    // No clipboard (plain http from another host): select it for Ctrl+C instead.
    getSelection().selectAllChildren(document.getElementById(button.dataset.copy));
    button.textContent = 'Selected';
  }
  setTimeout(() => (button.textContent = 'Copy'), 1500);
}

// ---- commands ----------------------------------------------------------------------

function upsertCommand(c) {
  state.commands.set(c.id, c);
  const tbody = $('#commands tbody');
  const row = commandRow(c);
  const existing = tbody.querySelector(`tr[data-command-id="${c.id}"]`);
  if (existing) {
    existing.replaceWith(row);
    row.classList.add('changed');
  } else {
    // Newest first: before the first row with a smaller id.
    const after = [...tbody.rows].find((r) => Number(r.dataset.commandId) < c.id);
    tbody.insertBefore(row, after ?? null);
  }
  updateCommandsEmpty();
}

function renderCommands() {
  const commands = [...state.commands.values()].sort((a, b) => b.id - a.id);
  $('#commands tbody').replaceChildren(...commands.map(commandRow));
  updateCommandsEmpty();
}

function updateCommandsEmpty() {
  const any = state.commands.size > 0;
  $('#no-commands').hidden = any;
  $('#commands').hidden = !any;
}

function payload(endpoint, format, data, duration) {
  if (!endpoint) return el('span', { className: 'muted' }, 'one-way');
  return el(
    'div',
    {},
    el('code', { className: 'endpoint' }, endpoint),
    el('span', { className: 'muted small' }, ` ${[format, duration].filter(Boolean).join(' · ')}`),
    data !== null && data !== undefined ? el('pre', { className: 'data' }, data) : null,
  );
}

function commandRow(c) {
  return el(
    'tr',
    { dataset: { commandId: String(c.id), state: c.deliveryStatus } },
    el('td', { dataset: { col: 'id' } }, String(c.id)),
    el('td', { dataset: { col: 'device' }, title: c.instanceId }, c.displayName ?? shortOcid(c.instanceId)),
    el('td', { dataset: { col: 'state' } }, el('span', { className: `badge ${c.deliveryStatus}`, title: c.cause ?? '' }, c.deliveryStatus)),
    el('td', { dataset: { col: 'trail' }, className: 'small' }, c.trail.join(' → '),
      c.cause ? el('div', { className: 'muted' }, c.cause) : null),
    el('td', { dataset: { col: 'request' } }, payload(c.requestEndpoint, c.requestDataFormat, c.requestData, c.requestDuration)),
    el('td', { dataset: { col: 'response' } },
      c.responseEndpoint ? payload(c.responseEndpoint, c.responseDataFormat, c.responseData, c.responseDuration) : el('span', { className: 'muted' }, 'one-way'),
      c.responseEndpoint && c.responseData === null && (c.deliveryStatus === 'SENT' || c.deliveryStatus === 'PENDING')
        ? el('div', { className: 'muted small' }, 'waiting for the device…')
        : null),
    el('td', { dataset: { col: 'created' } }, fmtTime(c.timeCreated)),
    el('td', { dataset: { col: 'sent' } }, fmtDelta(c.timeCreated, c.timeSent)),
    el('td', { dataset: { col: 'finished' } }, fmtDelta(c.timeCreated, c.timeFinished)),
  );
}

async function invoke(event) {
  event.preventDefault();
  const form = event.target;
  const out = $('#invoke-result');
  const instanceId = form.elements.instance.value;
  const text = form.elements.body.value;
  out.className = '';
  if (!instanceId) {
    out.className = 'error';
    out.textContent = 'Create a device first (Devices view).';
    return;
  }
  try {
    JSON.parse(text);
  } catch (err) {
    out.className = 'error';
    out.textContent = `The command is not valid JSON: ${err.message}`;
    return;
  }
  // The text goes as typed: the emulator validates it exactly as OCI's API would.
  const reply = await api('POST', `/20250531/digitalTwinInstances/${encodeURIComponent(instanceId)}/actions/invokeRawCommand`, text);
  if (reply.status === 202) {
    const id = (reply.headers.get('location') ?? '').split('/').pop();
    out.className = 'ok';
    out.textContent = `202 Accepted: command ${id}`;
  } else {
    out.className = 'error';
    out.textContent = `${reply.status} ${errorText(reply)}`;
  }
}

// ---- SQL workshop ------------------------------------------------------------------

async function runSql(event) {
  event?.preventDefault();
  const form = $('#sql');
  const sql = form.elements.sql.value;
  const reply = await api('POST', '/emulator/sql', { sql });
  const thead = $('#sql-result thead');
  const tbody = $('#sql-result tbody');
  if (!reply.ok) {
    showError($('#sql-error'), errorText(reply));
    $('#sql-summary').textContent = '';
    thead.replaceChildren();
    tbody.replaceChildren();
    return;
  }
  showError($('#sql-error'), '');
  const { columns, rows, truncated } = reply.data;
  thead.replaceChildren(el('tr', {}, ...columns.map((c) => el('th', {}, c))));
  tbody.replaceChildren(
    ...rows.map((row) => el('tr', {}, ...row.map((v) => el('td', { className: v === null ? 'null' : undefined }, v === null ? 'NULL' : String(v))))),
  );
  $('#sql-summary').textContent = `${rows.length} row${rows.length === 1 ? '' : 's'}${truncated ? ' (only the first rows are shown)' : ''}`;
}

// ---- one device's twin ------------------------------------------------------------

async function loadTwin() {
  const id = state.twin;
  const reply = await api('GET', `/emulator/devices/${encodeURIComponent(id)}/twin`);
  if (!reply.ok || state.twin !== id) return;
  const t = reply.data;
  setFields($('#view-twin'), { displayName: t.displayName, specUri: t.model ? t.model.specUri : 'none' });
  $('#twin-no-model').hidden = Boolean(t.model);
  $('#twin-contents').hidden = !t.model;
  $('#twin-contents tbody').replaceChildren(...t.contents.map((c) => el(
    'tr',
    { dataset: { path: c.path } },
    el('td', { dataset: { col: 'path' } }, el('code', {}, c.path)),
    el('td', {}, c.displayName),
    el('td', {}, c.schema),
    el('td', {}, c.unit ?? ''),
    el('td', {}, c.historized ? 'yes' : ''),
    el('td', { dataset: { col: 'value' } }, c.value === null ? el('span', { className: 'muted' }, '—') : el('code', {}, JSON.stringify(c.value))),
    el('td', { dataset: { col: 'time' } }, c.timeObserved ?? ''),
  )));
  const chartable = t.contents.filter((c) => c.historized && c.numeric);
  const select = $('#twin-chart-form select');
  const current = select.value;
  select.replaceChildren(...chartable.map((c) => el('option', { value: c.path }, c.displayName)));
  if (chartable.some((c) => c.path === current)) select.value = current;
  $('#twin-chart-form').hidden = chartable.length === 0;
  await loadChart();
}

async function loadChart() {
  const id = state.twin;
  const path = $('#twin-chart-form select').value;
  const box = $('#twin-chart');
  if (!id || !path) {
    box.replaceChildren();
    return;
  }
  const reply = await api('GET', `/emulator/devices/${encodeURIComponent(id)}/history?path=${encodeURIComponent(path)}&limit=500`);
  if (!reply.ok || state.twin !== id) return;
  const points = reply.data.points.filter((p) => typeof p.value === 'number');
  $('#twin-chart-empty').hidden = points.length > 0;
  box.dataset.points = String(points.length);
  state.chart?.destroy();
  state.chart = null;
  box.replaceChildren();
  if (points.length === 0) return;
  const data = [points.map((p) => Date.parse(p.time) / 1000), points.map((p) => p.value)];
  state.chart = new window.uPlot(
    {
      title: path,
      width: Math.min(box.clientWidth || 900, 1100),
      height: 320,
      scales: { x: { time: true } },
      series: [{}, { label: path, stroke: '#c74634', width: 2, points: { show: true, size: 5 } }],
    },
    data,
    box,
  );
}

// ---- live events -------------------------------------------------------------------

function setLive(stateName, text) {
  const badge = $('#live');
  badge.dataset.state = stateName;
  badge.textContent = text;
}

function connectEvents() {
  const events = new EventSource('/emulator/events');
  events.addEventListener('error', () => setLive('reconnecting', 'reconnecting…'));
  events.addEventListener('snapshot', (e) => {
    const snapshot = JSON.parse(e.data);
    state.devices = new Map(snapshot.devices.map((d) => [d.instanceId, d]));
    state.commands = new Map(snapshot.commands.map((c) => [c.id, c]));
    renderDevices();
    renderCommands();
    setLive('live', 'live');
  });
  events.addEventListener('devices', (e) => {
    state.devices = new Map(JSON.parse(e.data).map((d) => [d.instanceId, d]));
    renderDevices();
  });
  events.addEventListener('command', (e) => upsertCommand(JSON.parse(e.data)));
  events.addEventListener('twin', (e) => {
    if (state.twin && JSON.parse(e.data).instanceIds.includes(state.twin)) void loadTwin();
  });
}

// ---- start -------------------------------------------------------------------------

function start() {
  // Domains come and go through the API: a view change shows the current list.
  window.addEventListener('hashchange', () => {
    showView();
    void loadInfo();
  });
  showView();
  $('#invoke textarea').value = JSON.stringify(SEED_COMMAND, null, 2);
  $('#invoke textarea').addEventListener('input', () => (state.commandEdited = true));
  $('#invoke select').addEventListener('change', () => {
    state.devicePicked = true;
    fitCommandToDevice();
  });
  $('#create-device').addEventListener('submit', createDevice);
  $('#invoke').addEventListener('submit', invoke);
  $('#sql').addEventListener('submit', runSql);
  $('#sql textarea').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) runSql(e);
  });
  for (const button of document.querySelectorAll('[data-sql]')) {
    button.addEventListener('click', () => {
      $('#sql textarea').value = button.dataset.sql;
      runSql();
    });
  }
  $('#advance-clock').addEventListener('submit', advanceClock);
  $('#twin-chart-form select').addEventListener('change', () => void loadChart());
  document.addEventListener('click', copy);
  renderDevices();
  updateCommandsEmpty();
  connectEvents();
  void loadInfo();
}

start();
