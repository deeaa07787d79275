/** Which domain a device means from its TLS SNI host name (src/control/hosts.ts), with no sockets. */
import { expect, it } from 'vitest';
import { dataHostOf, deviceHostOf, deviceHostWildcard, domainResolver } from '../../src/control/hosts.js';
import type { DomainRow } from '../../src/store/control-plane.js';

const domain = (id: string, device_host: string, lifecycle_state = 'ACTIVE') => ({ id, device_host, lifecycle_state }) as DomainRow;
const first = domain('first', 'localhost');
const second = domain('second', 'abc.device.iot.localhost');
const updating = domain('updating', 'upd.device.iot.localhost', 'UPDATING');
const deleting = domain('deleting', 'del.device.iot.localhost', 'DELETING');
const all = [first, second, updating, deleting];
const resolve = domainResolver({
  liveDomains: () => all,
  domainByDeviceHost: (host) => all.find((d) => d.device_host.toLowerCase() === host.toLowerCase()),
});

it('names the domain whose deviceHost the device sent, in any case and with a trailing dot', () => {
  expect(resolve('abc.device.iot.localhost')?.id).toBe('second');
  expect(resolve('ABC.Device.IoT.localhost.')?.id).toBe('second');
  expect(resolve('upd.device.iot.localhost')?.id).toBe('updating');
});

it('lands devices without SNI, with an IP address or an unknown name on the first live domain', () => {
  for (const servername of [undefined, null, false, '', '127.0.0.1', '::1', 'my-laptop.lan'] as const) expect(resolve(servername)?.id).toBe('first');
});

it('lets nobody into a domain being deleted', () => {
  expect(resolve('del.device.iot.localhost')).toBeNull();
});

it('names hosts the way OCI shapes them, under the configured suffix', () => {
  expect(deviceHostOf('abc', 'iot.localhost')).toBe('abc.device.iot.localhost');
  expect(dataHostOf('grp', 'iot.localhost')).toBe('grp.data.iot.localhost');
  expect(deviceHostWildcard('iot.localhost')).toBe('*.device.iot.localhost');
});
