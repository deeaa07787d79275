import type { Clock } from '../clock/clock.js';
import type { ControlPlane } from '../control/control-plane.js';
import { invalid, OciError } from '../errors.js';
import { createDevice } from '../resources/devices.js';
import { createInstance } from '../resources/instances.js';
import { createSecret } from '../resources/secrets.js';
import type { TwinResources } from '../resources/twins.js';
import { EMULATOR_COMPARTMENT, type DomainRow } from '../store/control-plane.js';
import type { Store } from '../store/index.js';
import type { LiveResources } from '../store/live-resources.js';
import { entryLabel, SECTIONS, SeedError, type SeedFile, type Section } from './format.js';
import type { LoadedSeed } from './read.js';

/** What a seed is loaded with: the same domain functions the REST API calls. */
export interface SeedTarget {
  store: Store;
  clock: Clock;
  region: string;
  control: Pick<ControlPlane, 'createGroup' | 'createDomain' | 'finishNow'>;
  twins: Pick<TwinResources, 'models' | 'adapters' | 'relationships'>;
  /** The virtual devices of test control (src/virtual-devices/), which check their own settings. */
  virtualDevices: { create(input: { instanceId: string }): { id: string }; stop(id: string): Promise<unknown> };
  /** Where an entry without `domain` goes: the default domain and its group. */
  defaultDomainId: string;
  defaultGroupId: string;
}

/** How many entries were created and how many were there already, for the start-up lines. */
export interface SeedSummary {
  files: string[];
  created: number;
  existing: number;
}

type Entry<S extends Section> = NonNullable<SeedFile[S]>[number];

/**
 * Loads seed files in order, each section in the order of SECTIONS, all in one
 * transaction: a bad entry leaves nothing of any file behind. An entry whose name is taken
 * already is left as it is (a second start with the same file changes nothing); anything
 * else is created through the same functions as a REST request, so the same rules apply.
 */
export function applySeed(target: SeedTarget, files: LoadedSeed[]): SeedSummary {
  const summary: SeedSummary = { files: files.map((f) => f.file), created: 0, existing: 0 };
  target.store.atomically(() => {
    for (const { file, seed } of files) {
      for (const section of SECTIONS) {
        (seed[section] ?? []).forEach((entry, index) => {
          try {
            const made = APPLY[section](target, entry as never, target.store.liveResources.read());
            if (made) summary.created++;
            else summary.existing++;
          } catch (err) {
            const why = err instanceof OciError ? `${err.message} (${err.status} ${err.code})` : err instanceof SeedError ? err.message : String((err as Error).message ?? err);
            throw new SeedError(`${file}: ${entryLabel(section, index, entry)}: ${why}`);
          }
        });
      }
    }
  });
  return summary;
}

const tags = (e: { freeformTags?: Record<string, string>; definedTags?: Record<string, Record<string, unknown>> }) => ({
  ...(e.freeformTags ? { freeformTags: e.freeformTags } : {}),
  ...(e.definedTags ? { definedTags: e.definedTags } : {}),
});

function domainNamed(t: SeedTarget, live: LiveResources, name: string | undefined): DomainRow {
  if (name === undefined) return live.domains.find((d) => d.id === t.defaultDomainId)!;
  const found = live.domains.find((d) => d.display_name === name);
  if (!found) throw new SeedError(`domain "${name}" is neither in the domains section before it nor in the emulator`);
  return found;
}

function modelId(live: LiveResources, domainId: string, name: string): string {
  const inDomain = live.models.filter((m) => m.iot_domain_id === domainId);
  const found = inDomain.find((m) => m.spec_uri === name) ?? inDomain.find((m) => m.display_name === name);
  if (!found) throw new SeedError(`model "${name}" (a DTMI or a model's displayName) is not in this domain`);
  return found.id;
}

function instanceId(live: LiveResources, domainId: string, externalKey: string, field: string): string {
  const found = live.instances.find((i) => i.iot_domain_id === domainId && i.external_key === externalKey);
  if (!found) throw new SeedError(`${field}: no instance with externalKey "${externalKey}" in this domain`);
  return found.id;
}

/** Each section's loader: false when the entry was there already, true when it made it. */
const APPLY: { [S in Section]: (t: SeedTarget, e: Entry<S>, live: LiveResources) => boolean } = {
  domainGroups(t, e, live) {
    if (live.groups.some((g) => g.display_name === e.displayName)) return false;
    const { wr } = t.control.createGroup({ compartmentId: EMULATOR_COMPARTMENT, displayName: e.displayName, description: e.description, type: e.type, ...tags(e) });
    t.control.finishNow(wr.id);
    return true;
  },

  domains(t, e, live) {
    if (live.domains.some((d) => d.display_name === e.displayName)) return false;
    let groupId = t.defaultGroupId;
    if (e.domainGroup !== undefined) {
      const group = live.groups.find((g) => g.display_name === e.domainGroup);
      if (!group) throw new SeedError(`domainGroup "${e.domainGroup}" is neither in the domainGroups section before it nor in the emulator`);
      groupId = group.id;
    }
    const { wr } = t.control.createDomain({ iotDomainGroupId: groupId, compartmentId: EMULATOR_COMPARTMENT, displayName: e.displayName, description: e.description, ...tags(e) });
    t.control.finishNow(wr.id);
    return true;
  },

  secrets(t, e, live) {
    if (live.secrets.some((s) => s.secret_name === e.name)) return false;
    if ((e.content === undefined) === (e.contentBase64 === undefined)) throw new SeedError('give content (text) or contentBase64, one of them');
    const content = e.contentBase64 ?? Buffer.from(e.content!, 'utf8').toString('base64');
    createSecret(t.store, t.clock, t.region, { secretName: e.name, description: e.description, secretContent: { contentType: 'BASE64', content }, ...tags(e) });
    return true;
  },

  models(t, e, live) {
    const domain = domainNamed(t, live, e.domain);
    const dtmi = typeof e.spec === 'object' && e.spec !== null ? e.spec['@id'] : undefined;
    if (typeof dtmi === 'string' && live.models.some((m) => m.iot_domain_id === domain.id && m.spec_uri === dtmi)) return false;
    t.twins.models.create({ iotDomainId: domain.id, spec: e.spec, displayName: e.displayName, description: e.description, ...tags(e) });
    return true;
  },

  adapters(t, e, live) {
    const domain = domainNamed(t, live, e.domain);
    if (live.adapters.some((a) => a.iot_domain_id === domain.id && a.display_name === e.displayName)) return false;
    t.twins.adapters.create({
      iotDomainId: domain.id,
      digitalTwinModelId: modelId(live, domain.id, e.model),
      displayName: e.displayName,
      description: e.description,
      inboundEnvelope: e.inboundEnvelope,
      inboundRoutes: e.inboundRoutes,
      ...tags(e),
    });
    return true;
  },

  instances(t, e, live) {
    const domain = domainNamed(t, live, e.domain);
    if (live.instances.some((i) => i.iot_domain_id === domain.id && i.external_key === e.externalKey)) return false;
    if (e.secret !== undefined && e.password !== undefined) throw new SeedError('give secret (a secret by name) or password (a new secret), not both');
    let adapterId: string | undefined;
    if (e.adapter !== undefined) {
      const adapter = live.adapters.find((a) => a.iot_domain_id === domain.id && a.display_name === e.adapter);
      if (!adapter) throw new SeedError(`adapter "${e.adapter}" is not in this domain`);
      adapterId = adapter.id;
    }
    const fields = {
      externalKey: e.externalKey,
      displayName: e.displayName,
      description: e.description,
      digitalTwinAdapterId: adapterId,
      digitalTwinModelId: e.model !== undefined ? modelId(live, domain.id, e.model) : undefined,
      gateways: e.gateways?.map((key, i) => instanceId(live, domain.id, key, `gateways[${i}]`)),
      ...tags(e),
    };
    if (e.password !== undefined) {
      if (e.connectivityType === 'INDIRECT') throw invalid('an INDIRECT instance does not log in, so it has no password');
      createDevice(t.store, t.clock, t.region, domain.id, { ...fields, password: e.password, connectivityType: e.connectivityType });
      return true;
    }
    let authId: string | undefined;
    if (e.secret !== undefined) {
      const secret = live.secrets.find((s) => s.secret_name === e.secret);
      if (!secret) throw new SeedError(`secret "${e.secret}" is neither in the secrets section nor in the emulator`);
      authId = secret.id;
    }
    createInstance(t.store, t.clock, t.region, { ...fields, iotDomainId: domain.id, authId, connectivityType: e.connectivityType });
    return true;
  },

  relationships(t, e, live) {
    const domain = domainNamed(t, live, e.domain);
    if (live.relationships.some((r) => r.iot_domain_id === domain.id && r.display_name === e.displayName)) return false;
    t.twins.relationships.create({
      iotDomainId: domain.id,
      displayName: e.displayName,
      description: e.description,
      contentPath: e.contentPath,
      content: e.content,
      sourceDigitalTwinInstanceId: instanceId(live, domain.id, e.source, 'source'),
      targetDigitalTwinInstanceId: instanceId(live, domain.id, e.target, 'target'),
      ...tags(e),
    });
    return true;
  },

  virtualDevices(t, e, live) {
    const domain = domainNamed(t, live, e.domain);
    const id = instanceId(live, domain.id, e.instance, 'instance');
    if (live.virtualDevices.some((v) => v.digital_twin_instance_id === id)) return false;
    const { instance: _instance, domain: _domain, running, ...config } = e;
    if (running !== undefined && typeof running !== 'boolean') throw new SeedError('running must be true or false');
    const created = t.virtualDevices.create({ ...config, instanceId: id });
    // Stored stopped; before the listener is up nothing has started yet.
    if (running === false) void t.virtualDevices.stop(created.id);
    return true;
  },
};
