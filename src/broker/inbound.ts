import type { Clock } from '../clock/clock.js';
import type { DeviceSignals } from '../commands/device-port.js';
import type { CommandEngine } from '../commands/engine.js';
import { classifyPayload } from '../commands/payload.js';
import type { DeviceFaults } from '../faults/device-faults.js';
import type { Metrics } from '../ops/metrics.js';
import type { CommandStore } from '../store/commands.js';
import type { TelemetryPipeline } from '../telemetry/pipeline.js';
import type { Webhooks } from '../webhooks/webhooks.js';

/** The stages a device event passes, each the module that does the work (see createInbound). */
export interface InboundStages {
  clock: Clock;
  /** The one classification of a device publish (store/commands.ts). */
  classify: CommandStore['classifyPublish'];
  /** Device faults (faults/device-faults.ts); none without test control. */
  faults?: Pick<DeviceFaults, 'withholdsPuback' | 'withholdsResponse'>;
  /** The command state engine (commands/engine.ts). */
  engine: CommandEngine['signals'];
  /** raw_data and the adapter pipeline (telemetry/pipeline.ts). */
  telemetry: Pick<TelemetryPipeline, 'ingest'>;
  /** Telemetry webhooks (webhooks/webhooks.ts); none without test control. */
  webhooks?: Pick<Webhooks, 'telemetry'>;
  metrics?: Pick<Metrics, 'received'>;
}

/**
 * The way in from devices, read top to bottom: what happens to each device event the broker
 * reports (a connection ready, a subscription, a PUBACK, a publish), stage by stage. The
 * broker's handlers (broker.ts, acknowledgement.ts, device-publish.ts, https-publish.ts,
 * presence.ts, subscribe.ts) call it inside the batch of device writes; every stage writes in
 * that batch's transaction.
 *
 * The engine needs the broker (its DevicePort), so the stages are attached after the broker
 * starts and before it listens: no device can connect before, and nothing is dropped.
 */
export function createInbound() {
  let stages: InboundStages | null = null;

  function take(s: InboundStages, instanceId: string, topic: string, payload: Buffer): void {
    // 1. Classification, once: the answer to a command (the device's own, or one it carried as
    //    a gateway for an INDIRECT instance), or telemetry. Every stage gets this decision.
    const decision = s.classify(instanceId, topic);
    if (decision.kind === 'response') {
      // 2. Faults: a withheld response never reaches the platform; its command waits on.
      if (s.faults?.withholdsResponse(instanceId, topic, decision.command, payload)) return;
      // 3. Engine: the command is COMPLETED with it (unless it had moved on: then it is kept below).
      if (s.engine.response(decision.command, topic, payload)) return;
    }
    // 3. Or telemetry: raw_data (a late response is noted on the command that waited), then adapters.
    const { contentType } = classifyPayload(payload);
    s.telemetry.ingest({ instanceId, endpoint: topic, payload, contentType, timeReceived: s.clock.now() });
    // 4. Webhooks: telemetry only, never a command's response.
    if (decision.kind === 'telemetry') s.webhooks?.telemetry(instanceId, topic, payload);
  }

  return {
    attach(s: InboundStages): void {
      stages = s;
    },

    /** A connection is ready (its session restored): the engine delivers what waits for it. */
    deviceReady(instanceId: string, session: { clientId: string; clean: boolean }): Promise<void> {
      return stages ? stages.engine.deviceReady(instanceId, session) : Promise.resolve();
    },

    /** Subscriptions changed: the engine delivers the commands they now match. */
    subscribed(instanceId: string): Promise<void> {
      return stages ? stages.engine.subscribed(instanceId) : Promise.resolve();
    },

    /** A PUBACK (Aedes' `ack` event, acknowledgement.ts). */
    puback(instanceId: string, clientId: string, messageId: number): void {
      if (!stages) return;
      const { faults, engine } = stages;
      // 1. Faults: a withheld PUBACK never reaches the platform.
      if (faults?.withholdsPuback(instanceId, clientId, messageId)) return;
      // 2. Engine: the command moves (COMPLETED when one-way) and its connection's window frees.
      engine.puback(instanceId, clientId, messageId);
    },

    /** A device publish (MQTT, WSS or HTTPS POST) or a will. The caller acknowledges once it returns. */
    published(instanceId: string, topic: string, payload: Buffer): void {
      if (!stages) return;
      take(stages, instanceId, topic, payload);
      // 5. Metrics: every device PUBLISH taken, withheld or not.
      stages.metrics?.received();
    },
  } satisfies DeviceSignals & { attach(s: InboundStages): void };
}

export type Inbound = ReturnType<typeof createInbound>;
