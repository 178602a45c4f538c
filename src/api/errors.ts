import cpsCodes from './cph-error-codes.json' with { type: 'json' };

/** Every documented CPS error code (seed 000 §6.2), as data. */
export const CPS_CODES: Record<string, { message: string; handling: string }> = cpsCodes;
export type CpsCode = keyof typeof cpsCodes;

/**
 * Errors of the API gateway layer: authentication and transport. Huawei's gateway answers these
 * itself, before any service sees the request, with `APIGW.xxxx` codes.
 */
export const GATEWAY_ERRORS = {
  'APIGW.0101': { status: 404, message: 'The API does not exist or has not been published in the environment' },
  'APIGW.0201': { status: 413, message: 'Request entity too large' },
  'APIGW.0301': { status: 401, message: 'Incorrect IAM authentication information' },
  'APIGW.0308': { status: 429, message: 'The throttling threshold has been reached' },
} as const;
export type GatewayCode = keyof typeof GATEWAY_ERRORS;

/** Errors of the IAM token API that are not authentication failures. */
export const IAM_ERRORS = {
  'IAM.0011': { status: 400, message: 'Request parameter error.' },
} as const;

/** The error for a schema keyword's code (`x-code`): a CPS code, or an IAM one on IAM routes. */
export function codedError(code: string): ApiError {
  if (code in IAM_ERRORS) {
    const { status, message } = IAM_ERRORS[code as keyof typeof IAM_ERRORS];
    return new ApiError(status, code, message);
  }
  return cpsError(code as CpsCode);
}

/** A failure answered with the `{request_id, error_code, error_msg}` envelope. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** A documented CPS error with its verbatim message; `{0}` is replaced by `detail`. */
export function cpsError(code: CpsCode, options: { status?: number; detail?: string } = {}): ApiError {
  return new ApiError(options.status ?? 400, code, cpsMessage(code, options.detail));
}

export function cpsMessage(code: CpsCode, detail?: string): string {
  const message = CPS_CODES[code].message;
  return detail === undefined ? message : message.replace('{0}', detail);
}

/** A resource named in the path that does not exist (or belongs to another project): 404 with its CPS code. */
export function notFound(code: CpsCode): ApiError {
  return cpsError(code, { status: 404 });
}

export function gatewayError(code: GatewayCode, reason?: string): ApiError {
  const { status, message } = GATEWAY_ERRORS[code];
  return new ApiError(status, code, reason ? `${message}: ${reason}` : message);
}

/** A per-item failure inside a batch response's `jobs[]`. */
export interface ItemError {
  error_code: string;
  error_msg: string;
}

export function itemError(code: CpsCode): ItemError {
  return { error_code: code, error_msg: cpsMessage(code) };
}
