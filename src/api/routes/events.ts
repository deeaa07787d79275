import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { commandViews } from '../../views/commands.js';
import { listDeviceViews } from '../../views/devices.js';

const SNAPSHOT_COMMANDS = 200;
const KEEPALIVE_MS = 15_000;

/**
 * `GET /emulator/events`: server-sent events for the console, no polling. A client first
 * gets `snapshot` (devices and recent commands), then `command` for every state change and
 * `devices` whenever the device list changes, and `twin` when devices' twins get new values. Everything for one client goes through one
 * queue, so nothing sent after the snapshot is older than it.
 */
export const eventRoutes: FastifyPluginAsync = async (app) => {
  const { store, engine, control } = app.emu;
  const liveDomainIds = () => control.store.liveDomains().map((d) => d.id);
  const { presence } = app.ops;
  const views = commandViews(store);
  const open = new Set<ServerResponse>();

  // Streams never end on their own; a closing server ends them so close() does not wait.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get('/emulator/events', { schema: { hide: true } }, (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'opc-request-id': String(req.id),
    });
    // Reconnect soon after an emulator restart.
    res.write('retry: 1000\n\n');
    open.add(res);

    let closed = false;
    let queue = Promise.resolve();
    const send = (event: string, data: unknown) => {
      if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const enqueue = (step: () => unknown) => {
      queue = queue.then(step).then(
        () => {},
        (err: unknown) => req.log.warn({ err }, 'server-sent event failed'),
      );
    };

    const commands = views.recent(SNAPSHOT_COMMANDS);
    enqueue(async () => send('snapshot', { devices: await listDeviceViews(store, presence, liveDomainIds()), commands }));
    const stopCommands = engine.onTransition((t) => {
      // The view is taken now, when it matches the transition, not when the queue gets to it.
      const view = views.view(t.command);
      enqueue(() => send('command', view));
    });
    // A device's twin got new values: the console's device page reloads them.
    const stopTwins = app.emu.telemetry.onMapped((ids) => enqueue(() => send('twin', { instanceIds: ids })));
    const stopDevices = app.deviceFeed.subscribe(() => enqueue(async () => send('devices', await listDeviceViews(store, presence, liveDomainIds()))));
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    keepalive.unref();

    res.on('close', () => {
      closed = true;
      open.delete(res);
      clearInterval(keepalive);
      stopCommands();
      stopDevices();
      stopTwins();
    });
  });
};
