import { clientCertificateStore } from './client-certificates.js';
import { commandStore } from './commands.js';
import { controlPlaneStore } from './control-plane.js';
import type { Db } from './database.js';
import { deviceSessionStore } from './device-sessions.js';
import { faultStore } from './faults.js';
import { instanceStore } from './instances.js';
import { liveResourceStore } from './live-resources.js';
import { metaStore } from './meta.js';
import { compartmentStore } from './compartments.js';
import { ordsStore } from './ords.js';
import { prepareOnUse } from './prepare-on-use.js';
import { retentionStore } from './retention.js';
import { secretVersionStore } from './secret-versions.js';
import { secretStore } from './secrets.js';
import { virtualDeviceStore } from './virtual-devices.js';
import { webhookStore } from './webhooks.js';
import { telemetryDataStore } from './telemetry-data.js';
import { adapterStore, modelStore, relationshipStore } from './twin-resources.js';

/**
 * Every table group's store over one database, made once by the composition root and
 * handed to whoever reads or writes. Each group is made on first use, and each of its
 * statements compiles at its first run (prepare-on-use.ts), so a process that never lists
 * ORDS rows never compiles their SQL.
 */
export function createStore(db: Db) {
  const stores = prepareOnUse(db);
  const once = <T>(make: (db: Db) => T) => {
    let made: T | undefined;
    return () => (made ??= make(stores));
  };
  const commands = once(commandStore);
  const instances = once(instanceStore);
  const secrets = once(secretStore);
  const clientCertificates = once(clientCertificateStore);
  const deviceSessions = once(deviceSessionStore);
  const ords = once(ordsStore);
  const faults = once(faultStore);
  const webhooks = once(webhookStore);
  const virtualDevices = once(virtualDeviceStore);
  const models = once(modelStore);
  const adapters = once(adapterStore);
  const relationships = once(relationshipStore);
  const telemetryData = once(telemetryDataStore);
  const controlPlane = once(controlPlaneStore);
  const secretVersions = once(secretVersionStore);
  const retention = once((d: Db) => retentionStore(d));
  const liveResources = once(liveResourceStore);
  const meta = once(metaStore);
  const compartments = once(compartmentStore);
  return {
    get commands() { return commands(); },
    get instances() { return instances(); },
    get secrets() { return secrets(); },
    get clientCertificates() { return clientCertificates(); },
    /**
     * The same store as `controlPlane` (one store for the domain tables), by the name the
     * command path (src/api/routes/invoke.ts) still reads.
     */
    get domains() { return controlPlane(); },
    get deviceSessions() { return deviceSessions(); },
    get ords() { return ords(); },
    get faults() { return faults(); },
    get webhooks() { return webhooks(); },
    get virtualDevices() { return virtualDevices(); },
    get models() { return models(); },
    get adapters() { return adapters(); },
    get relationships() { return relationships(); },
    get telemetryData() { return telemetryData(); },
    /** Domain groups and domains as resources, and their work requests. */
    get controlPlane() { return controlPlane(); },
    get secretVersions() { return secretVersions(); },
    get retention() { return retention(); },
    /** Every live resource at once: what a seed file finds, and what the export writes. */
    get liveResources() { return liveResources(); },
    /** The emulator's own settings kept with the data. */
    get meta() { return meta(); },
    /** The compartments resources were made in, for the Identity API. */
    get compartments() { return compartments(); },
    /**
     * Runs `body` as one transaction, for a change that spans several store functions
     * (a device's secret and its instance; an instance and the certificate it lets go),
     * so a refusal half-way leaves nothing half-written.
     */
    atomically: <T>(body: () => T): T => db.transaction(body)(),
  };
}

export type Store = ReturnType<typeof createStore>;
