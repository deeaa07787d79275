// Provision a device and send it a raw command with Oracle's TypeScript SDK.
// Nothing here is emulator-specific except `endpoint`; leave it out to talk to OCI.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as common from 'oci-common';
import { IotClient, models } from 'oci-iot';
import { VaultsClient } from 'oci-vault';

export interface Backend {
  iot: IotClient;
  vaults: VaultsClient;
}

export function connect(provider: common.AuthenticationDetailsProvider, endpoint?: string): Backend {
  const iot = new IotClient({ authenticationDetailsProvider: provider });
  const vaults = new VaultsClient({ authenticationDetailsProvider: provider });
  if (endpoint) {
    iot.endpoint = endpoint; // e.g. http://localhost:8080
    vaults.endpoint = endpoint;
  }
  return { iot, vaults };
}

export interface ProvisionedDevice {
  instanceId: string;
  /** The Vault secret holding the password. */
  authId: string;
  /** MQTT user name. */
  externalKey: string;
  /** MQTT password: the content of the Vault secret named by the instance's authId. */
  password: string;
  /** MQTT host (port 8883, TLS). */
  deviceHost: string;
}

export async function provisionDevice(b: Backend, compartmentId: string, externalKey: string, password: string): Promise<ProvisionedDevice> {
  const [domain] = (await b.iot.listIotDomains({ compartmentId })).iotDomainCollection.items;
  const { iotDomain } = await b.iot.getIotDomain({ iotDomainId: domain.id });
  const { secret } = await b.vaults.createSecret({
    createSecretDetails: {
      compartmentId,
      vaultId: process.env.OCI_VAULT_ID ?? 'ocid1.vault.oc1..example',
      keyId: process.env.OCI_VAULT_KEY_ID ?? 'ocid1.key.oc1..example',
      secretName: `${externalKey}-password`,
      secretContent: { contentType: 'BASE64', content: Buffer.from(password).toString('base64') },
    },
  });
  const { digitalTwinInstance } = await b.iot.createDigitalTwinInstance({
    createDigitalTwinInstanceDetails: { iotDomainId: domain.id, authId: secret.id, externalKey, displayName: externalKey },
  });
  return { instanceId: digitalTwinInstance.id, authId: secret.id, externalKey, password, deviceHost: iotDomain.deviceHost! };
}

/** Returns the Location header: the command's raw_command_data row, whose id is its last path segment. */
export async function sendCommand(b: Backend, instanceId: string, data: Record<string, unknown>): Promise<string> {
  const details: models.InvokeRawJsonCommandDetails = {
    requestDataFormat: 'JSON',
    requestEndpoint: 'iot/v1/cmd/settings',
    requestData: data,
    requestDuration: 'PT5M',
    responseEndpoint: 'iot/v1/rsp/settings',
    responseDuration: 'PT1M',
  };
  const res = await b.iot.invokeRawCommand({ digitalTwinInstanceId: instanceId, invokeRawCommandDetails: details });
  return res.location!;
}

/** ~/.oci/config when there is one; otherwise a throwaway key, which the emulator accepts by default. */
function provider(): common.AuthenticationDetailsProvider {
  if (existsSync(join(homedir(), '.oci', 'config'))) return new common.ConfigFileAuthenticationDetailsProvider();
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return new common.SimpleAuthenticationDetailsProvider('ocid1.tenancy.oc1..local', 'ocid1.user.oc1..local', '00:00', privateKey, null);
}

// npx tsx examples/sdk/quickstart.ts provision <externalKey> <password>
// npx tsx examples/sdk/quickstart.ts send <instanceId> '<json>'
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const b = connect(provider(), process.env.OCI_IOT_ENDPOINT ?? 'http://localhost:8080');
  const compartmentId = process.env.OCI_COMPARTMENT_ID ?? 'ocid1.compartment.oc1..example';
  const [command, ...args] = process.argv.slice(2);
  if (command === 'provision') console.log(await provisionDevice(b, compartmentId, args[0], args[1]));
  else if (command === 'send') console.log(await sendCommand(b, args[0], JSON.parse(args[1] ?? '{}')));
  else console.error('usage: quickstart.ts provision <externalKey> <password> | send <instanceId> <json>');
}
