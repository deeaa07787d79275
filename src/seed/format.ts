import type { InboundEnvelope, InboundRoute } from '../telemetry/adapter.js';

type Tags = { freeformTags?: Record<string, string>; definedTags?: Record<string, Record<string, unknown>> };

/**
 * A seed file: the resources the emulator starts with. Entries refer to each other by name
 * (a domain by its displayName, a model by its DTMI or displayName, a secret by its name,
 * an instance by its externalKey); an entry without `domain` is in the default domain
 * `emulator-domain`. What already exists under that name is left as it is.
 */
export interface SeedFile {
  domainGroups?: Array<Tags & { displayName: string; description?: string; type?: 'PRODUCTION' | 'DEVELOPMENT' | 'STANDARD' | 'LIGHTWEIGHT' }>;
  domains?: Array<Tags & { displayName: string; description?: string; domainGroup?: string }>;
  secrets?: Array<Tags & { name: string; description?: string; content?: string; contentBase64?: string }>;
  models?: Array<Tags & { spec: Record<string, unknown>; domain?: string; displayName?: string; description?: string }>;
  adapters?: Array<Tags & { displayName: string; model: string; domain?: string; description?: string; inboundEnvelope?: InboundEnvelope; inboundRoutes?: InboundRoute[] }>;
  instances?: Array<
    Tags & {
      externalKey: string;
      domain?: string;
      displayName?: string;
      description?: string;
      model?: string;
      adapter?: string;
      secret?: string;
      password?: string;
      connectivityType?: 'DIRECT' | 'GATEWAY' | 'INDIRECT';
      gateways?: string[];
    }
  >;
  relationships?: Array<Tags & { displayName: string; contentPath: string; source: string; target: string; domain?: string; description?: string; content?: Record<string, unknown> }>;
  /** The rest of an entry is a virtual device's settings, checked as `POST /emulator/virtual-devices` checks them. */
  virtualDevices?: Array<{ instance: string; domain?: string; running?: boolean } & Record<string, unknown>>;
}

export type Section = keyof SeedFile;

/** The sections in the order they are loaded: each may refer to the ones before it. */
export const SECTIONS: readonly Section[] = ['domainGroups', 'domains', 'secrets', 'models', 'adapters', 'instances', 'relationships', 'virtualDevices'];

const TAGS = ['freeformTags', 'definedTags'];
/** Each section's fields: required first, then optional. */
export const FIELDS: Record<Section, { required: string[]; optional: string[] }> = {
  domainGroups: { required: ['displayName'], optional: ['description', 'type', ...TAGS] },
  domains: { required: ['displayName'], optional: ['description', 'domainGroup', ...TAGS] },
  secrets: { required: ['name'], optional: ['description', 'content', 'contentBase64', ...TAGS] },
  models: { required: ['spec'], optional: ['domain', 'displayName', 'description', ...TAGS] },
  adapters: { required: ['displayName', 'model'], optional: ['domain', 'description', 'inboundEnvelope', 'inboundRoutes', ...TAGS] },
  instances: {
    required: ['externalKey'],
    optional: ['domain', 'displayName', 'description', 'model', 'adapter', 'secret', 'password', 'connectivityType', 'gateways', ...TAGS],
  },
  relationships: { required: ['displayName', 'contentPath', 'source', 'target'], optional: ['domain', 'description', 'content', ...TAGS] },
  // The virtual device's own settings are checked by the virtual devices module, as over REST.
  virtualDevices: { required: ['instance'], optional: ['domain', 'running', 'endpoints', 'qos', 'response', 'responseDelay', 'responseEndpoint', 'telemetry'] },
};

/** Fields that name another entry, and must be non-empty text. */
const NAME_FIELDS = new Set(['displayName', 'name', 'externalKey', 'domain', 'domainGroup', 'model', 'adapter', 'secret', 'password', 'source', 'target', 'instance', 'contentPath', 'content', 'contentBase64']);

/** A seed file that is wrong, said in one line: the file, the entry and what is wrong. */
export class SeedError extends Error {}

/** What an entry is called in an error: `instances[2] "pump-1"`. */
export function entryLabel(section: Section, index: number, entry: unknown): string {
  const e = (entry ?? {}) as Record<string, unknown>;
  const name = e.displayName ?? e.name ?? e.externalKey ?? e.instance ?? (e.spec as { '@id'?: unknown } | undefined)?.['@id'];
  return `${section}[${index}]${typeof name === 'string' ? ` "${name}"` : ''}`;
}

/** Checks the shape of a parsed seed file (what each section and entry holds); the rules of each resource are checked when it is created. */
export function checkShape(parsed: unknown, file: string): SeedFile {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SeedError(`${file}: a seed file is an object with the sections ${SECTIONS.join(', ')}`);
  for (const key of Object.keys(parsed)) {
    if (!SECTIONS.includes(key as Section)) throw new SeedError(`${file}: ${key} is not a section of a seed file (${SECTIONS.join(', ')})`);
  }
  const seed = parsed as Record<Section, unknown>;
  for (const section of SECTIONS) {
    const entries = seed[section];
    if (entries === undefined || entries === null) continue;
    if (!Array.isArray(entries)) throw new SeedError(`${file}: ${section} must be a list`);
    entries.forEach((entry: unknown, i) => {
      const where = `${file}: ${entryLabel(section, i, entry)}`;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new SeedError(`${where}: an entry is an object`);
      const { required, optional } = FIELDS[section];
      for (const field of required) if ((entry as Record<string, unknown>)[field] === undefined) throw new SeedError(`${where}: ${field} is required`);
      for (const [field, value] of Object.entries(entry)) {
        if (!required.includes(field) && !optional.includes(field)) throw new SeedError(`${where}: ${field} is not a field of ${section} (${[...required, ...optional].join(', ')})`);
        if (NAME_FIELDS.has(field) && !(section === 'relationships' && field === 'content') && (typeof value !== 'string' || value === '')) {
          throw new SeedError(`${where}: ${field} must be non-empty text`);
        }
      }
    });
  }
  return seed as SeedFile;
}
