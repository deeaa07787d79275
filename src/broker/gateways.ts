import type { Store } from '../store/index.js';
import type { DeviceIdentity } from './connections.js';

/**
 * GATEWAY and INDIRECT instances (Oracle's node-red-gateway sample): an INDIRECT instance
 * has no connection of its own; its commands travel over a live connection of one of the
 * gateways it names in `gateways`, and that gateway's answer completes them.
 */
export function createGateways(instances: Pick<Store['instances'], 'get' | 'indirectOf'>) {
  return {
    /** The gateways an INDIRECT instance's commands may travel through, in its order; [] for any other. */
    gatewaysOf(instanceId: string): string[] {
      const row = instances.get(instanceId);
      if (row?.connectivity_type !== 'INDIRECT' || !row.gateways) return [];
      return JSON.parse(row.gateways) as string[];
    },
    /** The instances whose commands a connection of `identity` carries: its own, and a gateway's INDIRECT ones. */
    servedBy(identity: Pick<DeviceIdentity, 'instanceId' | 'connectivityType'>): string[] {
      if (identity.connectivityType !== 'GATEWAY') return [identity.instanceId];
      return [identity.instanceId, ...instances.indirectOf(identity.instanceId)];
    },
  };
}

export type Gateways = ReturnType<typeof createGateways>;
