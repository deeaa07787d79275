/**
 * The minimal Identity API, through the official oci-identity SDK: the tenancy, and the
 * compartments the emulator has seen resources in, as tools list them before IoT domains.
 */
import { IdentityClient, requests } from 'oci-identity';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';
import { authProvider, newApiKey, sdkClients } from './support.js';

let t: TestEmulator;
let identity: IdentityClient;
const key = newApiKey();
const MINE = 'ocid1.compartment.oc1..aaaamine';

beforeAll(async () => {
  t = await startTestEmulator();
  const sdk = sdkClients(t.emu.restUrl, authProvider(key));
  await sdk.iot.createIotDomainGroup({ createIotDomainGroupDetails: { compartmentId: MINE } });
  identity = new IdentityClient({ authenticationDetailsProvider: authProvider(key) });
  identity.endpoint = t.emu.restUrl;
});
afterAll(() => t?.close());

it('lists the compartments resources were made in under the tenancy, as the MCP server lists them', async () => {
  const root = await identity.getCompartment({ compartmentId: key.tenancy });
  expect(root.compartment).toMatchObject({ id: key.tenancy, lifecycleState: 'ACTIVE' });
  const list = await identity.listCompartments({
    compartmentId: key.tenancy,
    compartmentIdInSubtree: true,
    accessLevel: requests.ListCompartmentsRequest.AccessLevel.Accessible,
  });
  expect(list.items.map((c) => c.id).sort()).toEqual(['ocid1.compartment.oc1..emulator', MINE].sort());
  expect(list.items.every((c) => c.compartmentId === key.tenancy && c.lifecycleState === 'ACTIVE' && Number.isFinite(new Date(c.timeCreated).getTime()))).toBe(true);
  const mine = await identity.getCompartment({ compartmentId: MINE });
  expect(mine.compartment).toMatchObject({ id: MINE, name: 'aaaamine' });
  // A compartment has no children here; the SDK's paginator follows opc-next-page.
  expect((await identity.listCompartments({ compartmentId: MINE })).items).toEqual([]);
  const paged = await identity.listCompartments({ compartmentId: key.tenancy, limit: 1 });
  expect(paged.items).toHaveLength(1);
  expect(paged.opcNextPage).toBe('1');
});

it('answers GetTenancy for the tenancy the caller names, and 404 for compartments it never saw', async () => {
  const tenancy = await identity.getTenancy({ tenancyId: key.tenancy });
  expect(tenancy.tenancy).toMatchObject({ id: key.tenancy, name: 'oci-iot-emulator' });
  for (const call of [
    () => identity.getCompartment({ compartmentId: 'ocid1.compartment.oc1..never' }),
    () => identity.listCompartments({ compartmentId: 'ocid1.compartment.oc1..never' }),
    () => identity.getTenancy({ tenancyId: 'ocid1.compartment.oc1..notatenancy' }),
  ]) {
    await expect(call()).rejects.toMatchObject({ statusCode: 404, serviceCode: 'NotAuthorizedOrNotFound' });
  }
});
