export {
  startEmulator,
  type StartedEmulator,
  type StartOptions,
  type TestDevice,
  type RawCommandData,
  type MqttConnectOptions,
} from './programmatic.js';
export { type Emulator, type EmulatorOptions } from './emulator.js';
export { type EmulatorConfig, DEFAULTS } from './config.js';
export { type Clock, type ManualClock, isManual } from './clock/clock.js';
export { type DeliveryStatus } from './store/delivery-states.js';
export { type InvokeRawCommandDetails } from './commands/request.js';
export { type NewDevice } from './resources/devices.js';
export { type DeviceConnection } from './views/connection.js';
export { type SqlResult } from './sql/query.js';
export { OciError } from './errors.js';
export { type SeedFile } from './seed/format.js';
export { type SeedSummary } from './seed/apply.js';
