import AjvCompiler from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

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

const buildValidator = AjvCompiler();
const buildSerializer = SerializerSelector();

/** Fastify's own compilers (the same Ajv and fast-json-stringify set-up), compiling on first use. */
export const lazySchemaCompilers: NonNullable<FastifyServerOptions['schemaController']>['compilersFactory'] = {
  buildValidator: (externalSchemas, options) => compileOnFirstUse(buildValidator(externalSchemas, options)),
  buildSerializer: (externalSchemas, options) => compileOnFirstUse(buildSerializer(externalSchemas, options)),
};
