import type { DomainError, ErrorKind } from '../core/errors.ts';

/** The HTTP status of each kind of domain error (src/core/errors.ts), for every API family. */
const HTTP_STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  'not-found': 404,
  unauthenticated: 401,
  forbidden: 403,
  timeout: 408,
  'too-large': 413,
  'uri-too-large': 414,
  'headers-too-large': 494,
  throttled: 429,
  refused: 200,
  internal: 500,
};

export function httpStatus(error: DomainError): number {
  return HTTP_STATUS[error.kind];
}
