import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type Validator = ((data: unknown) => unknown) & { errors?: unknown };

/**
 * Fastify's own validator and serializer compilers (Ajv, fast-json-stringify), compiling each route's
 * schema on the route's first use instead of all of them at start: compiling every schema of every route
 * was a third of a cold start (docs/performance.md, P5). The fuzzing suite calls every route, so a schema
 * that does not compile still fails a test.
 */
export function lazyCompilers(): CompilersFactory {
  const ajvCompilers = AjvCompiler();
  const serializerCompilers = SerializerSelector();
  return {
    buildValidator(externalSchemas, ajvOptions) {
      const compile = ajvCompilers(externalSchemas, ajvOptions);
      return (route) => {
        let validate: Validator | undefined;
        // Fastify reads a failed validation's errors from the function it called.
        const lazy: Validator = (data) => {
          validate ??= compile(route) as Validator;
          const valid = validate(data);
          lazy.errors = validate.errors;
          return valid;
        };
        // Fastify only calls it and reads `errors`; Ajv's other members are not needed.
        return lazy as unknown as ReturnType<typeof compile>;
      };
    },
    buildSerializer(externalSchemas, serializerOptions) {
      const compile = serializerCompilers(externalSchemas, serializerOptions);
      return (route) => {
        let serialize: ((data: unknown) => string) | undefined;
        return (data: unknown) => (serialize ??= compile(route))(data);
      };
    },
  };
}
