import { databasePath, openExistingReadOnly } from '../store/database.js';
import { createStore } from '../store/index.js';
import type { LiveResources } from '../store/live-resources.js';
import { SeedError } from './format.js';
import type { SeedFile } from './format.js';

const parsed = <T>(text: string | null): T | undefined => (text === null ? undefined : (JSON.parse(text) as T));

/** Tags and description only when they say something, so an exported file reads like a written one. */
function tail(row: { description: string | null; freeform_tags: string; defined_tags: string }) {
  const freeform = JSON.parse(row.freeform_tags) as Record<string, string>;
  const defined = JSON.parse(row.defined_tags) as Record<string, Record<string, unknown>>;
  return {
    ...(row.description !== null ? { description: row.description } : {}),
    ...(Object.keys(freeform).length ? { freeformTags: freeform } : {}),
    ...(Object.keys(defined).length ? { definedTags: defined } : {}),
  };
}

/** Text when the bytes are UTF-8 text (a password, a token), else base64. */
function secretContent(base64: string): { content: string } | { contentBase64: string } {
  const bytes = Buffer.from(base64, 'base64');
  const text = bytes.toString('utf8');
  // eslint-disable-next-line no-control-regex
  return Buffer.from(text, 'utf8').equals(bytes) && !/[\u0000-\u0008\u000e-\u001f]/.test(text) ? { content: text } : { contentBase64: base64 };
}

/** The domain the emulator treats as its own (where devices without SNI land): the oldest live one. */
function defaultDomainOf(live: LiveResources): { domainId: string; groupId: string } {
  const first = live.domains.find((d) => d.lifecycle_state !== 'FAILED');
  return { domainId: first?.id ?? '', groupId: first?.iot_domain_group_id ?? '' };
}

/**
 * The live resources as a seed file: loading it into an empty emulator makes them again
 * (with new OCIDs: references are by name). Secrets are written with their content, as a
 * local emulator's passwords are test data. The default domain and group are not written;
 * what is in them has no `domain`. A device certificate (mTLS) cannot be written, so an
 * instance that logs in with one is written without its login.
 */
export function exportSeed(live: LiveResources): SeedFile {
  const defaults = defaultDomainOf(live);
  const domainName = new Map(live.domains.map((d) => [d.id, d.display_name]));
  const groupName = new Map(live.groups.map((g) => [g.id, g.display_name]));
  const inDomain = (id: string) => (id === defaults.domainId ? {} : { domain: domainName.get(id)! });
  const secretName = new Map(live.secrets.map((s) => [s.id, s.secret_name]));
  const adapterName = new Map(live.adapters.map((a) => [a.id, a.display_name]));
  const instance = new Map(live.instances.map((i) => [i.id, i]));
  const seed: SeedFile = {
    domainGroups: live.groups
      .filter((g) => g.id !== defaults.groupId)
      .map((g) => ({ displayName: g.display_name, type: g.type as 'DEVELOPMENT', ...tail(g) })),
    domains: live.domains
      .filter((d) => d.id !== defaults.domainId)
      .map((d) => ({ displayName: d.display_name, ...(d.iot_domain_group_id !== defaults.groupId ? { domainGroup: groupName.get(d.iot_domain_group_id)! } : {}), ...tail(d) })),
    secrets: live.secrets.map((s) => ({ name: s.secret_name, ...secretContent(s.content), ...tail(s) })),
    models: live.models.map((m) => ({ ...inDomain(m.iot_domain_id), displayName: m.display_name, ...tail(m), spec: JSON.parse(m.spec) as Record<string, unknown> })),
    adapters: live.adapters.map((a) => ({
      ...inDomain(a.iot_domain_id),
      displayName: a.display_name,
      model: a.digital_twin_model_spec_uri,
      ...tail(a),
      inboundEnvelope: JSON.parse(a.inbound_envelope),
      inboundRoutes: JSON.parse(a.inbound_routes),
    })),
    instances: live.instances.map((i) => ({
      ...inDomain(i.iot_domain_id),
      externalKey: i.external_key,
      displayName: i.display_name,
      ...tail(i),
      // The adapter brings its model; a model alone is named by its DTMI.
      ...(i.digital_twin_adapter_id ? { adapter: adapterName.get(i.digital_twin_adapter_id)! } : i.digital_twin_model_spec_uri ? { model: i.digital_twin_model_spec_uri } : {}),
      ...(i.auth_id && secretName.has(i.auth_id) ? { secret: secretName.get(i.auth_id)! } : {}),
      ...(i.connectivity_type !== 'DIRECT' ? { connectivityType: i.connectivity_type as 'GATEWAY' } : {}),
      ...(i.gateways ? { gateways: parsed<string[]>(i.gateways)!.map((id) => instance.get(id)?.external_key ?? id) } : {}),
    })),
    relationships: live.relationships.map((r) => ({
      ...inDomain(r.iot_domain_id),
      displayName: r.display_name,
      contentPath: r.content_path,
      source: instance.get(r.source_digital_twin_instance_id)?.external_key ?? r.source_digital_twin_instance_id,
      target: instance.get(r.target_digital_twin_instance_id)?.external_key ?? r.target_digital_twin_instance_id,
      ...tail(r),
      ...(r.content !== null ? { content: JSON.parse(r.content) as Record<string, unknown> } : {}),
    })),
    virtualDevices: live.virtualDevices.flatMap((v) => {
      const owner = instance.get(v.digital_twin_instance_id);
      if (!owner) return [];
      const { instanceId: _, ...config } = JSON.parse(v.config) as Record<string, unknown>;
      return [{ ...inDomain(owner.iot_domain_id), instance: owner.external_key, ...(v.running ? {} : { running: false }), ...config }];
    }),
  };
  // Empty sections are left out.
  for (const key of Object.keys(seed) as Array<keyof SeedFile>) if (!seed[key]?.length) delete seed[key];
  return seed;
}

/** `oci-iot-emulator export`: the seed file of a data directory's database, read-only, with or without an emulator running on it. */
export function exportDataDir(dataDir: string): SeedFile {
  let db: ReturnType<typeof openExistingReadOnly>;
  try {
    db = openExistingReadOnly(dataDir);
  } catch (err) {
    throw new SeedError((err as Error).message);
  }
  if (!db) throw new SeedError(`there is no emulator database at ${databasePath(dataDir)}; give the --data-dir the emulator runs with`);
  try {
    return exportSeed(createStore(db).liveResources.read());
  } finally {
    db.close();
  }
}
