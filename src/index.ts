export { startEmulator, type Emulator, type EmulatorOptions } from './emulator.js';
export { type EmulatorConfig, DEFAULTS } from './config.js';
export { type Clock, type ManualClock, isManual } from './clock.js';
export { OciError } from './errors.js';
