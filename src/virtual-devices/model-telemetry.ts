import type { Store } from '../store/index.js';
import { parseModel } from '../telemetry/dtdl.js';
import type { TelemetryProperty } from './generators.js';

/**
 * The Telemetry contents of an instance's DTDL model (its own, else its adapter's), as
 * (content path, schema) pairs for `defaultGenerators`; none without an active model.
 * Primitive schemas are given by name (`double`), complex ones as the parsed schema.
 */
export function modelTelemetry(store: Store, instanceId: string): TelemetryProperty[] {
  const instance = store.instances.get(instanceId);
  if (!instance) return [];
  const adapter = instance.digital_twin_adapter_id ? store.adapters.get(instance.digital_twin_adapter_id) : undefined;
  const modelId = instance.digital_twin_model_id ?? adapter?.digital_twin_model_id;
  const row = modelId ? store.models.get(modelId) : undefined;
  if (!row || row.lifecycle_state !== 'ACTIVE') return [];
  try {
    const model = parseModel(JSON.parse(row.spec), (dtmi) => {
      const extended = store.models.activeBySpecUri(row.iot_domain_id, dtmi);
      return extended ? JSON.parse(extended.spec) : undefined;
    });
    return [...model.contents.values()]
      .filter((c) => c.kind === 'Telemetry')
      .map((c) => ({ name: c.path, schema: c.schema.kind === 'primitive' ? c.schema.name : c.schema }));
  } catch {
    // A model stored before a stricter parser: nothing to generate from, rather than no device.
    return [];
  }
}
