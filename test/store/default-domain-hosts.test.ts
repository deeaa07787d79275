/** The first domain's deviceHost and its group's dataHost carry their short ids first, in databases made before that too. */
import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { createStore } from '../../src/store/index.js';

const shaped = (suffix: string) => (d: string, g: string) => ({ deviceHost: `${d}.device.${suffix}`, dataHost: `${g}.data.${suffix}`, dbConnectionString: `tcps:db:1522/${g}` });

it('rewrites a first domain kept as `localhost` by an older emulator to OCI\'s shape, ids unchanged', () => {
  const store = createStore(openDatabase(':memory:', 'normal'));
  // What older emulators stored: localhost for both.
  const old = store.controlPlane.ensureDefault({ region: 'us-ashburn-1', hostsOf: () => ({ deviceHost: 'localhost', dataHost: 'localhost', dbConnectionString: 'sqlite:x' }), now: '2026-01-01T00:00:00.000Z' });
  expect([old.domain.device_host, old.group.data_host]).toEqual(['localhost', 'localhost']);

  const now = store.controlPlane.ensureDefault({ region: 'us-ashburn-1', hostsOf: shaped('iot.localhost'), now: '2026-01-02T00:00:00.000Z' });
  expect(now.domain.id).toBe(old.domain.id);
  expect(now.domain.device_host).toBe(`${old.domain.short_id}.device.iot.localhost`);
  expect(now.group.data_host).toMatch(/^[a-z2-7]{12}\.data\.iot\.localhost$/);
  // The group's short id is the one its token scope has carried from the start.
  expect(old.group.db_token_scope).toBe(`urn:oracle:db::id::${now.group.data_host.split('.')[0]}`);
  // Stored, not only returned.
  expect(store.controlPlane.domain(old.domain.id)?.device_host).toBe(now.domain.device_host);
  expect(store.controlPlane.group(old.group.id)?.data_host).toBe(now.group.data_host);

  // In proxy mode, OCI's real names; the same ids and short ids.
  const oci = store.controlPlane.ensureDefault({ region: 'us-ashburn-1', hostsOf: shaped('iot.us-ashburn-1.oci.oraclecloud.com'), now: '2026-01-03T00:00:00.000Z' });
  expect(oci.domain.device_host).toBe(`${old.domain.short_id}.device.iot.us-ashburn-1.oci.oraclecloud.com`);
  expect(oci.group.data_host.split('.')[0]).toBe(now.group.data_host.split('.')[0]);
});
