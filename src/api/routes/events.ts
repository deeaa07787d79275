import type { FastifyPluginAsync } from 'fastify';
import { commandViews } from '../../views/commands.js';
import { listDeviceViews } from '../../views/devices.js';
import { eventStreams } from '../event-streams.js';

const SNAPSHOT_COMMANDS = 200;

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
  const stream = eventStreams(app);

  app.get('/emulator/events', { schema: { hide: true } }, (req, reply) => {
    const res = stream(req, reply);
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

    res.on('close', () => {
      closed = true;
      stopCommands();
      stopDevices();
      stopTwins();
    });
  });
};
