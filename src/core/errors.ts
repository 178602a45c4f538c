import cpsCodes from './cps-error-codes.json' with { type: 'json' };

/**
 * The domain's errors. Each is a documented code with its verbatim message (the CPS, KooPhone, IAM and API
 * gateway catalogues below, as data) and the kind of failure it is; core and jobs raise them, and the API
 * turns the kind into the HTTP status of its family's envelope, in one place (src/api/errors.ts).
 */
export type ErrorKind =
  /** The request is wrong (400). */
  | 'invalid'
  /** A resource named in the path does not exist, or is another tenant's (404). */
  | 'not-found'
  | 'unauthenticated'
  | 'forbidden'
  /** The request did not arrive in time (408). */
  | 'timeout'
  | 'too-large'
  | 'uri-too-large'
  | 'headers-too-large'
  /** Too many requests now (429). */
  | 'throttled'
  /** A business refusal that KooPhone answers with HTTP 200, its family rule (spec koophone-api.md §1.5.3). */
  | 'refused'
  | 'internal';

export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Every documented CPS error code (seed 000 §6.2), as data. */
export const CPS_CODES: Record<string, { message: string; handling: string }> = cpsCodes;
export type CpsCode = keyof typeof cpsCodes;

/** A documented CPS error with its verbatim message (`{0}` replaced by `detail`): a bad request unless `kind` says otherwise. */
export function cpsError(code: CpsCode, options: { kind?: ErrorKind; detail?: string } = {}): DomainError {
  return new DomainError(code, options.kind ?? 'invalid', cpsMessage(code, options.detail));
}

export function cpsMessage(code: CpsCode, detail?: string): string {
  const message = CPS_CODES[code].message;
  return detail === undefined ? message : message.replace('{0}', detail);
}

/** A resource named in the path that does not exist (or belongs to another project). */
export function notFound(code: CpsCode): DomainError {
  return cpsError(code, { kind: 'not-found' });
}

/** A per-item failure inside a batch response's `jobs[]`. */
export interface ItemError {
  error_code: string;
  error_msg: string;
}

export function itemError(code: CpsCode): ItemError {
  return { error_code: code, error_msg: cpsMessage(code) };
}

/**
 * KooPhone error codes (spec §5.2, and §5.3 for codes only the per-API tables list) with their kind and
 * `error_msg`. The kind belongs to the code, not the API: many business errors are HTTP 200 (`refused`).
 */
export const KOOPHONE_CODES = {
  'KOOPHONE.API.0000': { kind: 'refused', message: 'tenant is not exist.' },
  'KOOPHONE.API.0002': { kind: 'refused', message: "missing request header 'x-request-id'." },
  'KOOPHONE.API.0003': { kind: 'invalid', message: "invalid request header 'x-request-id'." },
  'KOOPHONE.API.0004': { kind: 'refused', message: 'project is not exist.' },
  'KOOPHONE.API.1000': {
    kind: 'invalid',
    message: 'There is an error in the interface request parameters. Check if the request parameter type or range is consistent with the interface.',
  },
  'KOOPHONE.API.1001': { kind: 'unauthenticated', message: 'no instance permission, Check whether the instance ID passed in by the request is correct.' },
  'KOOPHONE.API.1002': {
    kind: 'invalid',
    message: 'The instance list to be operated on does not belong to the same region. Please modify the requested instances to the same region.',
  },
  'KOOPHONE.API.1003': { kind: 'unauthenticated', message: 'tenant have no auth to use the API, please contact us to add you to the whitelist.' },
  'KOOPHONE.API.1004': { kind: 'refused', message: 'Services not subscribed.' },
  'KOOPHONE.API.1005': { kind: 'invalid', message: 'request param error, Request param not contain the all needed encode and net combinations.' },
  'KOOPHONE.API.1012': { kind: 'refused', message: 'instances are not belong to one tenant.' },
  'KOOPHONE.API.1323': { kind: 'invalid', message: 'The application installation task does not exist.' },
  'KOOPHONE.API.2003': { kind: 'refused', message: 'No idle instance.' },
  'KOOPHONE.API.2004': { kind: 'refused', message: 'the instance already frozen.' },
  'KOOPHONE.API.2005': { kind: 'refused', message: 'the instance is in recover.' },
  'KOOPHONE.API.2006': { kind: 'refused', message: 'the instance is in backup.' },
  'KOOPHONE.API.2210': { kind: 'refused', message: 'The binding relationship between the user and the instance does not exist.' },
  'KPAPI.2209': { kind: 'refused', message: 'No device can be assigned.' },
  'KOOPHONE.API.3001': { kind: 'invalid', message: 'input instance sku param need to match band sku.' },
  'KOOPHONE.API.3002': { kind: 'refused', message: 'no such sku or region.' },
  'KOOPHONE.API.3003': { kind: 'refused', message: 'common instance need os version.' },
  'KOOPHONE.API.3006': { kind: 'refused', message: 'if period type is month, period num should between 1-9.' },
  'KOOPHONE.API.3007': { kind: 'refused', message: 'if period type is year, period num should between 1-3.' },
  'KOOPHONE.API.3008': { kind: 'refused', message: 'fast_install in request param should be 0 or 1.' },
  'KOOPHONE.API.3009': { kind: 'refused', message: 'query phoneId error.' },
  'KOOPHONE.API.4001': { kind: 'refused', message: 'instance not exist.' },
  'KOOPHONE.API.40010': { kind: 'refused', message: 'out of stock.' },
  'KOOPHONE.API.4999': { kind: 'invalid', message: 'Invoking third api error.' },
  'KOOPHONE.API.5001': { kind: 'invalid', message: 'Cannot delete on-demand instances.' },
  'KOOPHONE.API.5002': { kind: 'invalid', message: 'The time request format is incorrect.' },
  'KOOPHONE.API.5004': { kind: 'invalid', message: 'The query end date is earlier than the query start date.' },
  'KOOPHONE.API.5005': { kind: 'invalid', message: 'Not all instances are running.' },
  'KOOPHONE.API.6000': { kind: 'invalid', message: 'Invalid request parameter.' },
  'KOOPHONE.API.6001': { kind: 'unauthenticated', message: 'Authenticate Failed!' },
  'KOOPHONE.API.6002': { kind: 'forbidden', message: 'No permission.' },
  'KOOPHONE.API.62005': { kind: 'refused', message: 'The app package already exists.' },
  'KOOPHONE.API.62006': { kind: 'refused', message: 'The app size must be a number.' },
  'KOOPHONE.API.62010': { kind: 'refused', message: 'The cloud instance is abnormal.' },
  'KOOPHONE.API.62015': { kind: 'refused', message: 'The size of the app package exceeds the limit of 2G.' },
  'KOOPHONE.API.62016': { kind: 'refused', message: 'The total size of application packages uploaded by the tenant exceeds the total limit.' },
  'KOOPHONE.API.62017': { kind: 'refused', message: 'Download failed, please check the install_package_url.' },
  'KOOPHONE.API.62019': { kind: 'refused', message: 'Install app failed.' },
  'KOOPHONE.API.62020': { kind: 'refused', message: 'Version Conflict.' },
  'KOOPHONE.API.62021': { kind: 'refused', message: 'not enough space.' },
  'KOOPHONE.API.9999': { kind: 'internal', message: 'unknown error.' },
} as const;

export type KooPhoneCode = keyof typeof KOOPHONE_CODES;

export function isKooPhoneCode(code: string): code is KooPhoneCode {
  return code in KOOPHONE_CODES;
}

/** A KooPhone failure: the code's own kind and message (`detail` is appended). */
export function kpError(code: KooPhoneCode, detail?: string): DomainError {
  const { kind, message } = KOOPHONE_CODES[code];
  return new DomainError(code, kind, detail ? `${message} ${detail}` : message);
}

export function kpMessage(code: KooPhoneCode): string {
  return KOOPHONE_CODES[code].message;
}

/**
 * Errors of the API gateway layer: authentication, transport and throttling. Huawei's gateway answers these
 * itself, before any service sees the request, with `APIGW.xxxx` codes.
 */
export const GATEWAY_CODES = {
  'APIGW.0101': { kind: 'not-found', message: 'The API does not exist or has not been published in the environment' },
  'APIGW.0201': { kind: 'too-large', message: 'Request entity too large' },
  'APIGW.0301': { kind: 'unauthenticated', message: 'Incorrect IAM authentication information' },
  'APIGW.0308': { kind: 'throttled', message: 'The throttling threshold has been reached' },
} as const satisfies Record<string, { kind: ErrorKind; message: string }>;
export type GatewayCode = keyof typeof GATEWAY_CODES;

export function gatewayError(code: GatewayCode, reason?: string): DomainError {
  const { kind, message } = GATEWAY_CODES[code];
  return new DomainError(code, kind, reason ? `${message}: ${reason}` : message);
}

/** Errors of the IAM token API that are not authentication failures. */
export const IAM_CODES = {
  'IAM.0011': { kind: 'invalid', message: 'Request parameter error.' },
} as const satisfies Record<string, { kind: ErrorKind; message: string }>;

/**
 * Errors of the key pair service (KPS). Huawei's pages show only the placeholder `KPS.XXX`, so these codes
 * and messages are OpenCPH's own (docs/kps-notes.md, "Errors, limits, visibility"), in the flat body.
 */
export const KPS_CODES = {
  'KPS.0001': { kind: 'invalid', message: 'Invalid request body.' },
  'KPS.0002': { kind: 'invalid', message: 'Invalid key pair name: 1 to 255 letters, digits, underscores or hyphens.' },
  'KPS.0003': { kind: 'invalid', message: 'Invalid public key.' },
  'KPS.0004': { kind: 'invalid', message: 'A key pair with this name already exists.' },
  'KPS.0005': { kind: 'invalid', message: 'Quota exceeded: too many key pairs.' },
  'KPS.0006': { kind: 'not-found', message: 'The key pair does not exist.' },
  'KPS.0007': { kind: 'invalid', message: 'Invalid description: at most 255 characters.' },
  'KPS.0008': { kind: 'invalid', message: 'Invalid limit or marker.' },
  'KPS.0009': { kind: 'invalid', message: 'Invalid type, scope or user_id.' },
  'KPS.0010': { kind: 'invalid', message: 'Invalid key_protection or private key.' },
} as const satisfies Record<string, { kind: ErrorKind; message: string }>;
export type KpsCode = keyof typeof KPS_CODES;

export function kpsError(code: KpsCode): DomainError {
  const { kind, message } = KPS_CODES[code];
  return new DomainError(code, kind, message);
}

/** The error for a schema keyword's code (`x-code`): an IAM, KPS, KooPhone or CPS code. */
export function codedError(code: string): DomainError {
  if (code in KPS_CODES) return kpsError(code as KpsCode);
  if (code in IAM_CODES) {
    const { kind, message } = IAM_CODES[code as keyof typeof IAM_CODES];
    return new DomainError(code, kind, message);
  }
  if (isKooPhoneCode(code)) return kpError(code);
  return cpsError(code as CpsCode);
}
