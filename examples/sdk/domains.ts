// Create an IoT domain group and a domain in it with Oracle's TypeScript SDK, waiting for
// each work request as provisioning code does. Only `endpoint` is emulator-specific.
import * as common from 'oci-common';
import { IotClient, IotWaiter, models } from 'oci-iot';

export interface NewDomain {
  domainGroupId: string;
  domainId: string;
  /** Where this domain's devices connect (MQTTS 8883); its first label is the domain short id. */
  deviceHost: string;
}

/** Waits for a work request to finish and fails unless it SUCCEEDED. */
async function finished(iot: IotClient, waiter: IotWaiter, workRequestId: string): Promise<models.WorkRequest> {
  const { workRequest } = await waiter.forWorkRequest({ workRequestId });
  if (workRequest.status !== models.OperationStatus.Succeeded) {
    const { workRequestErrorCollection } = await iot.listWorkRequestErrors({ workRequestId });
    throw new Error(`${workRequest.operationType} ${workRequest.status}: ${workRequestErrorCollection.items.map((e) => e.message).join('; ')}`);
  }
  return workRequest;
}

export async function createDomain(iot: IotClient, compartmentId: string, name: string): Promise<NewDomain> {
  const waiter = iot.createWaiters();
  const group = await iot.createIotDomainGroup({
    createIotDomainGroupDetails: { compartmentId, displayName: `${name}-group`, type: models.CreateIotDomainGroupDetails.Type.Development },
  });
  await finished(iot, waiter, group.opcWorkRequestId); // CREATING -> ACTIVE

  const domain = await iot.createIotDomain({
    createIotDomainDetails: { iotDomainGroupId: group.iotDomainGroup.id, compartmentId, displayName: name },
  });
  await finished(iot, waiter, domain.opcWorkRequestId);

  const { iotDomain } = await iot.getIotDomain({ iotDomainId: domain.iotDomain.id });
  return { domainGroupId: group.iotDomainGroup.id, domainId: iotDomain.id, deviceHost: iotDomain.deviceHost! };
}

export function iotClient(provider: common.AuthenticationDetailsProvider, endpoint?: string): IotClient {
  const iot = new IotClient({ authenticationDetailsProvider: provider });
  if (endpoint) iot.endpoint = endpoint; // e.g. http://localhost:8080
  return iot;
}
