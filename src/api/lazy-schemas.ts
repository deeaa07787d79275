import type AjvCompiler from '@fastify/ajv-compiler';
import type { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';
import { sourceRequire } from '../lazy-require.js';

type Compile<R, F> = (route: R) => F;

/**
 * Wraps a route-schema compiler so each schema is compiled when its route first runs, not
 * while routes are registered. Compiling every route's validators and serializers (Ajv,
 * fast-json-stringify) was the largest cost of start-up once modules load from one bundle,
 * and a test run touches a handful of the routes. A schema that does not compile therefore
 * fails its route's first request (and that route's tests) instead of start-up.
 */
function compileOnFirstUse<R, F extends (...args: never[]) => unknown>(compile: Compile<R, F>): Compile<R, F> {
  return (route) => {
    let compiled: F | undefined;
    const first = function (this: unknown, ...args: Parameters<F>) {
      compiled ??= compile(route);
      const result = compiled.apply(this, args);
      // Fastify reads a failed validation's reasons from the function it was given.
      (first as { errors?: unknown }).errors = (compiled as { errors?: unknown }).errors;
      return result;
    };
    return first as unknown as F;
  };
}

/**
 * Ajv and fast-json-stringify themselves load at the first compile too: evaluating them
 * (about a fifth of importing the package) and making an Ajv instance are start-up costs
 * otherwise.
 */
let validators: ReturnType<typeof AjvCompiler> | undefined;
let serializers: ReturnType<typeof SerializerSelector> | undefined;
const loadValidators = (): ReturnType<typeof AjvCompiler> =>
  (validators ??= ((sourceRequire ? sourceRequire('@fastify/ajv-compiler') : require('@fastify/ajv-compiler')) as typeof AjvCompiler)());
const loadSerializers = (): ReturnType<typeof SerializerSelector> =>
  (serializers ??= (
    (sourceRequire ? sourceRequire('@fastify/fast-json-stringify-compiler') : require('@fastify/fast-json-stringify-compiler')) as { SerializerSelector: typeof SerializerSelector }
  ).SerializerSelector());

/** Fastify's own compilers (the same Ajv and fast-json-stringify set-up), compiling on first use. */
export const lazySchemaCompilers: NonNullable<FastifyServerOptions['schemaController']>['compilersFactory'] = {
  buildValidator: (externalSchemas, options) => {
    let build: ReturnType<ReturnType<typeof AjvCompiler>> | undefined;
    return compileOnFirstUse((route) => (build ??= loadValidators()(externalSchemas, options))(route));
  },
  buildSerializer: (externalSchemas, options) => {
    let build: ReturnType<ReturnType<typeof SerializerSelector>> | undefined;
    return compileOnFirstUse((route) => (build ??= loadSerializers()(externalSchemas, options))(route));
  },
};
