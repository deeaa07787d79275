/**
 * Every public operation of the oci-iot IotClient reaches a route of the emulator: none
 * answers the generic "No such operation" 404. The list comes from the SDK itself, so an
 * operation a later SDK release adds fails here until the emulator serves it.
 */
import * as common from 'oci-common';
import { IotClient } from 'oci-iot';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';
import { authProvider, newApiKey } from './support.js';


/** Client plumbing on the prototype that is not a service operation. */
const NOT_OPERATIONS = new Set(['constructor', 'createWaiters', 'getWaiters', 'shutdownCircuitBreaker', 'closeProvider', 'close']);

const ID = 'ocid1.walk.oc1..aaaaoperationwalk';
/** Enough of every request for the SDK to build it: each path and required query parameter, and an empty body. */
const requestFor = (operation: string) => ({
  compartmentId: 'ocid1.compartment.oc1..walk',
  iotDomainId: ID,
  iotDomainGroupId: ID,
  digitalTwinInstanceId: ID,
  digitalTwinModelId: ID,
  digitalTwinAdapterId: ID,
  digitalTwinRelationshipId: ID,
  workRequestId: ID,
  [`${operation}Details`]: {},
  retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1) },
});

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t?.close();
});

it('every IotClient operation is served (none answers 404 "No such operation")', async () => {
  const client = new IotClient({ authenticationDetailsProvider: authProvider(newApiKey()) });
  client.endpoint = t.emu.restUrl;
  const operations = Object.getOwnPropertyNames(IotClient.prototype).filter(
    (name) => !NOT_OPERATIONS.has(name) && typeof Object.getOwnPropertyDescriptor(IotClient.prototype, name)!.value === 'function',
  );
  expect(operations.length).toBeGreaterThanOrEqual(42);

  const unserved: string[] = [];
  for (const operation of operations) {
    const call = (client as unknown as Record<string, (r: unknown) => Promise<unknown>>)[operation];
    const outcome = await call.call(client, requestFor(operation)).then(
      () => 'answered',
      (err: unknown) => {
        const e = err as { statusCode?: number; serviceCode?: string; message?: string };
        if (e.statusCode === undefined) throw new Error(`${operation}: the SDK could not build the request: ${String(err)}`);
        return e.statusCode === 404 && e.serviceCode === 'NotFound' && /^No such operation/.test(e.message ?? '') ? 'unknown route' : 'answered';
      },
    );
    if (outcome === 'unknown route') unserved.push(operation);
  }
  expect(unserved, 'operations the emulator does not serve').toEqual([]);
});
