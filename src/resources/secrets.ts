import { iso, type Clock } from '../clock/clock.js';
import { invalid, notFound } from '../errors.js';
import { base32, ocid } from '../ids.js';
import { EMULATOR_COMPARTMENT } from '../store/control-plane.js';
import type { Store } from '../store/index.js';
import type { VersionedSecretRow } from '../store/secret-versions.js';
import type { SecretRow } from '../store/secrets.js';
import { conflict } from '../errors.js';

export interface CreateSecretDetails {
  compartmentId?: string;
  vaultId?: string;
  keyId?: string;
  secretName?: string;
  description?: string;
  freeformTags?: Record<string, string>;
  definedTags?: Record<string, Record<string, unknown>>;
  secretContent: { contentType?: string; content: string };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Creates a Vault secret. OCI requires compartment, vault and key; the emulator has one
 * vault and no keys, so those default, which keeps a curl quick start short.
 */
export function createSecret(store: Store, clock: Clock, region: string, d: CreateSecretDetails): SecretRow {
  if (!BASE64.test(d.secretContent.content)) throw invalid('secretContent.content must be base64');
  const vaultId = d.vaultId ?? `ocid1.vault.oc1.${region}.emulator`;
  const secretName = d.secretName ?? `secret-${base32(12)}`;
  return store.atomically(() => {
    if (store.secrets.nameTaken(vaultId, secretName)) {
      throw conflict(`A secret named "${secretName}" already exists in vault ${vaultId}`);
    }
    const now = iso(clock.now());
    const row: SecretRow = {
      id: ocid('vaultsecret', region),
      compartment_id: d.compartmentId ?? EMULATOR_COMPARTMENT,
      vault_id: vaultId,
      key_id: d.keyId ?? null,
      secret_name: secretName,
      description: d.description ?? null,
      content_type: 'BASE64',
      content: d.secretContent.content,
      version_number: 1,
      lifecycle_state: 'ACTIVE',
      freeform_tags: JSON.stringify(d.freeformTags ?? {}),
      defined_tags: JSON.stringify(d.definedTags ?? {}),
      time_created: now,
      time_updated: now,
    };
    store.secrets.insert(row);
    store.secretVersions.addFirstVersion(row);
    return row;
  });
}

export interface UpdateSecretDetails {
  currentVersionNumber?: number;
  description?: string;
  freeformTags?: Record<string, string>;
  definedTags?: Record<string, Record<string, unknown>>;
  secretContent?: { contentType?: string; content: string; stage?: 'CURRENT' | 'PENDING' };
}

/**
 * UpdateSecret: new content is a new version, CURRENT unless staged PENDING, so a device's
 * next login needs the new password (sessions already open stay); or an existing version
 * is made CURRENT again (a rollback). Tags and description change in place.
 */
export function updateSecret(store: Store, clock: Clock, id: string, d: UpdateSecretDetails): VersionedSecretRow {
  const versions = store.secretVersions;
  const secret = versions.get(id);
  if (!secret || secret.lifecycle_state !== 'ACTIVE') throw notFound('Secret', id);
  if (d.secretContent && d.currentVersionNumber !== undefined) throw invalid('give either secretContent (a new version) or currentVersionNumber (an existing one), not both');
  if (d.secretContent && !BASE64.test(d.secretContent.content)) throw invalid('secretContent.content must be base64');
  if (d.currentVersionNumber !== undefined && !versions.version(id, d.currentVersionNumber)) {
    throw invalid(`secret ${id} has no version ${d.currentVersionNumber}`);
  }
  return versions.update(
    id,
    {
      content: d.secretContent?.content,
      stage: d.secretContent?.stage,
      currentVersionNumber: d.currentVersionNumber,
      description: d.description,
      freeformTags: d.freeformTags ? JSON.stringify(d.freeformTags) : undefined,
      definedTags: d.definedTags ? JSON.stringify(d.definedTags) : undefined,
    },
    iso(clock.now()),
  );
}
