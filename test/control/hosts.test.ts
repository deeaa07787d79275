/** Which domain a device means from its TLS SNI host name (src/control/hosts.ts), with no sockets. */
import { expect, it } from 'vitest';
import { dataHostOf, deviceHostOf, deviceHostWildcard, domainResolver, hostNameOf, isApiHost, isTunneledHost, ociServiceNames } from '../../src/control/hosts.js';
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

it("tells OCI's API hosts from device hosts, and tunnels only OCI's names and the emulator's own", () => {
  const api = [
    'iot.us-ashburn-1.oci.oraclecloud.com',
    'vaults.eu-frankfurt-1.oci.oraclecloud.com',
    'secrets.vaults.us-ashburn-1.oci.oraclecloud.com',
    'identity.us-ashburn-1.oci.oraclecloud.com',
    'abcdefghijkl.data.iot.us-ashburn-1.oci.oraclecloud.com',
    'idcs-0123456789abcdef.identity.oraclecloud.com',
    'grp.data.iot.localhost',
  ];
  const devices = ['abc.device.iot.us-ashburn-1.oci.oraclecloud.com', 'abc.device.iot.localhost'];
  const neither = ['localhost', '127.0.0.1', '', 'example.com', 'oraclecloud.com', 'iot.oraclecloud.com', 'evil.com.iot.us-ashburn-1.oci.oraclecloud.com.evil', 'a.b.data.iot.localhost', 'data.iot.localhost', 'x.identity.oraclecloud.com.evil.com', 'a.b.device.iot.localhost'];
  for (const h of api) expect([h, isApiHost(h, 'iot.localhost'), isTunneledHost(h, 'iot.localhost')]).toEqual([h, true, true]);
  for (const h of devices) expect([h, isApiHost(h, 'iot.localhost'), isTunneledHost(h, 'iot.localhost')]).toEqual([h, false, true]);
  for (const h of neither) expect([h, isApiHost(h, 'iot.localhost'), isTunneledHost(h, 'iot.localhost')]).toEqual([h, false, false]);
  expect(hostNameOf('IoT.us-ashburn-1.oci.oraclecloud.com.:443')).toBe('iot.us-ashburn-1.oci.oraclecloud.com');
  expect(hostNameOf('[::1]:8443')).toBe('[::1]');
  expect(ociServiceNames('us-ashburn-1', 'iot.localhost')).toEqual(expect.arrayContaining(['iot.us-ashburn-1.oci.oraclecloud.com', '*.data.iot.us-ashburn-1.oci.oraclecloud.com', '*.identity.oraclecloud.com']));
});
