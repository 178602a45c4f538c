import { Type, type TSchema, type TString } from '@sinclair/typebox';
import type { ErrorObject } from 'ajv';
import type { CpsCode, KooPhoneCode, KpsCode } from '../core/errors.ts';

/**
 * Schema keywords that carry the documented error of a field: `x-code` when the value is invalid,
 * `x-empty-code` when it is missing or empty. The error handler reads them from the failing schema node.
 */
export const ERROR_KEYWORDS = ['x-code', 'x-empty-code', 'x-finite'] as const;

/** The codes a field may carry: its API family's (a KooPhone route's field, KooPhone codes; a CPH route's, CPS; a KPS route's, KPS). */
type FieldCode = CpsCode | KooPhoneCode | KpsCode | 'IAM.0011';

export function coded<T extends TSchema>(schema: T, code: FieldCode, emptyCode?: FieldCode): T {
  return Object.assign(schema, { 'x-code': code }, emptyCode ? { 'x-empty-code': emptyCode } : {});
}

/** The documented code (see `coded`) of the schema node a validation error names, if it carries one. */
export function errorCode(error: ErrorObject): string | undefined {
  const node = error.parentSchema as Record<string, unknown> | undefined;
  let code: unknown;
  if (error.keyword === 'required') {
    const missing = (node?.properties as Record<string, Record<string, unknown>> | undefined)?.[(error.params as { missingProperty: string }).missingProperty];
    code = missing?.['x-empty-code'] ?? missing?.['x-code'] ?? node?.['x-empty-code'] ?? node?.['x-code'];
  } else if ((error.keyword === 'minLength' || error.keyword === 'minItems') && isEmpty(error.data)) {
    code = node?.['x-empty-code'] ?? node?.['x-code'];
  } else {
    code = node?.['x-code'];
  }
  return typeof code === 'string' ? code : undefined;
}

function isEmpty(value: unknown): boolean {
  return value === '' || (Array.isArray(value) && value.length === 0);
}

/**
 * A query value such as `1e309` is coerced to Infinity, which ajv's integer, minimum and maximum checks
 * let through (they skip non-finite numbers); `x-finite: true` refuses it (keyword registered in app.ts).
 */
export const FINITE_KEYWORD = 'x-finite';

/** `offset`/`limit` query parameters: both invalid → CPS.0002. */
export function paging(maxLimit: number) {
  return {
    offset: Type.Optional(coded(Type.Integer({ minimum: 0, maximum: 2_147_483_647, [FINITE_KEYWORD]: true }), 'CPS.0002')),
    limit: Type.Optional(coded(Type.Integer({ minimum: 1, maximum: maxLimit, [FINITE_KEYWORD]: true }), 'CPS.0002')),
  };
}

/** A value that may be `null` on the wire. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ProjectParams = Type.Object({ project_id: Type.String() });

/** The answer of an operation that returns nothing else. */
export const RequestId = Type.Object({ request_id: Type.String() });

export const Metadata = Type.Object({ order_id: Type.String(), product_id: Type.String() });

/** Per-item entry of a batch response: `job_id` when accepted, `error_code`/`error_msg` when refused. */
export function jobEntry<K extends string>(idField: K) {
  return Type.Object({
    ...({ [idField]: Type.String() } as Record<K, TString>),
    job_id: Type.Optional(Type.String()),
    error_code: Type.Optional(Type.String()),
    error_msg: Type.Optional(Type.String()),
  });
}
