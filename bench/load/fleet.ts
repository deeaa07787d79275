import mqtt, { type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { pool } from '../lib/net.js';
import { percentiles } from '../lib/stats.js';
import { parseCommandData, type Completions } from './completions.js';
import { COMMAND_TOPIC, RESPONSE_TOPIC, type ConnectRequest, type ConnectResult, type DeviceCred } from './protocol.js';

export interface Device {
  cred: DeviceCred;
  client: MqttClient;
}

/**
 * The simulated devices: MQTT.js clients over TLS, each answering its commands at once.
 * A two-way command is answered on the response topic at QoS 1; its PUBACK comes back
 * only after the emulator has stored the response, so that is when it is COMPLETED. A
 * one-way command is complete for the client when it arrives (the PUBACK it triggers
 * completes it in the emulator).
 */
export class Fleet {
  readonly devices: Device[] = [];
  #serial = 0;

  constructor(private readonly completions: Completions) {}

  async connect(req: ConnectRequest): Promise<ConnectResult> {
    const ca = readFileSync(req.caFile);
    const latencies: number[] = [];
    let failed = 0;
    let firstError: string | null = null;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await pool(req.devices.length, req.parallel, async (i) => {
      const cred = req.devices[i];
      const start = performance.now();
      try {
        const client = await mqtt.connectAsync(req.url, {
          ca,
          username: cred.externalKey,
          password: cred.password,
          protocolVersion: 4,
          clientId: `bench-${process.pid}-${this.#serial++}`,
          clean: true,
          keepalive: 120,
          reconnectPeriod: 0,
          connectTimeout: 60_000,
        });
        if (req.subscribe) {
          client.on('message', (topic, payload) => this.#onMessage(client, topic, payload));
          await client.subscribeAsync(req.subscribe, { qos: 1 });
        }
        client.on('error', () => {}); // a dropped device is counted by the checks, not thrown here
        this.devices.push({ cred, client });
        latencies.push(performance.now() - start);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    });
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      loadCpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
      connected: latencies.length,
      failed,
      firstError,
      elapsedMs,
      perSecond: latencies.length / (elapsedMs / 1000),
      latency: percentiles(latencies),
      totalConnected: this.devices.length,
    };
  }

  #onMessage(client: MqttClient, topic: string, payload: Buffer): void {
    if (topic !== COMMAND_TOPIC) return;
    const data = parseCommandData(payload);
    if (!data) return;
    this.completions.arrived(data.s);
    if (data.w === 0) {
      this.completions.done(data.s);
      return;
    }
    client.publish(RESPONSE_TOPIC, `{"s":${data.s}}`, { qos: 1 }, (err) => {
      if (!err) this.completions.done(data.s);
    });
  }

  async disconnect(): Promise<number> {
    const all = this.devices.splice(0);
    await pool(all.length, 200, (i) => all[i].client.endAsync(true));
    return all.length;
  }
}
