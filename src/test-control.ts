/**
 * Transitional: the TestControl type where src/api/server.ts still imports it from. That file
 * is frozen while branch perf-hotpath works on it; once that is merged, point its import at
 * ./test-control/test-control.js and delete this file.
 */
export type { TestControl } from './test-control/test-control.js';
