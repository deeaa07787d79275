import { createRequire } from 'node:module';

/**
 * For a CommonJS package that is loaded only when first needed, synchronously. Call it as
 * `(sourceRequire ? sourceRequire('pkg') : require('pkg'))`: in dist's bundle `require` is
 * esbuild's, and a literal `require('pkg')` puts the package in the bundle but evaluates it
 * only at that call (an `import` would evaluate it while the package is imported). Run
 * from source (ESM: tsx, vitest) there is no `require`; this one loads from node_modules.
 */
export const sourceRequire: NodeJS.Require | undefined = typeof require === 'function' ? undefined : createRequire(import.meta.url);
