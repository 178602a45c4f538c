import { ApiError } from '../errors.ts';

/**
 * KooPhone error codes (spec §5.2, and §5.3 for codes only the per-API tables list) with their HTTP
 * status and `error_msg`. The status belongs to the code, not the API: many business errors are HTTP 200.
 */
export const KOOPHONE_ERRORS = {
  'KOOPHONE.API.0000': { status: 200, message: 'tenant is not exist.' },
  'KOOPHONE.API.0002': { status: 200, message: "missing request header 'x-request-id'." },
  'KOOPHONE.API.0003': { status: 400, message: "invalid request header 'x-request-id'." },
  'KOOPHONE.API.0004': { status: 200, message: 'project is not exist.' },
  'KOOPHONE.API.1000': {
    status: 400,
    message: 'There is an error in the interface request parameters. Check if the request parameter type or range is consistent with the interface.',
  },
  'KOOPHONE.API.1001': { status: 401, message: 'no instance permission, Check whether the instance ID passed in by the request is correct.' },
  'KOOPHONE.API.1002': {
    status: 400,
    message: 'The instance list to be operated on does not belong to the same region. Please modify the requested instances to the same region.',
  },
  'KOOPHONE.API.1003': { status: 401, message: 'tenant have no auth to use the API, please contact us to add you to the whitelist.' },
  'KOOPHONE.API.1004': { status: 200, message: 'Services not subscribed.' },
  'KOOPHONE.API.1005': { status: 400, message: 'request param error, Request param not contain the all needed encode and net combinations.' },
  'KOOPHONE.API.1012': { status: 200, message: 'instances are not belong to one tenant.' },
  'KOOPHONE.API.1323': { status: 400, message: 'The application installation task does not exist.' },
  'KOOPHONE.API.2003': { status: 200, message: 'No idle instance.' },
  'KOOPHONE.API.2004': { status: 200, message: 'the instance already frozen.' },
  'KOOPHONE.API.2005': { status: 200, message: 'the instance is in recover.' },
  'KOOPHONE.API.2006': { status: 200, message: 'the instance is in backup.' },
  'KOOPHONE.API.2210': { status: 200, message: 'The binding relationship between the user and the instance does not exist.' },
  'KPAPI.2209': { status: 200, message: 'No device can be assigned.' },
  'KOOPHONE.API.3001': { status: 400, message: 'input instance sku param need to match band sku.' },
  'KOOPHONE.API.3002': { status: 200, message: 'no such sku or region.' },
  'KOOPHONE.API.3003': { status: 200, message: 'common instance need os version.' },
  'KOOPHONE.API.3006': { status: 200, message: 'if period type is month, period num should between 1-9.' },
  'KOOPHONE.API.3007': { status: 200, message: 'if period type is year, period num should between 1-3.' },
  'KOOPHONE.API.3008': { status: 200, message: 'fast_install in request param should be 0 or 1.' },
  'KOOPHONE.API.3009': { status: 200, message: 'query phoneId error.' },
  'KOOPHONE.API.4001': { status: 200, message: 'instance not exist.' },
  'KOOPHONE.API.40010': { status: 200, message: 'out of stock.' },
  'KOOPHONE.API.4999': { status: 400, message: 'Invoking third api error.' },
  'KOOPHONE.API.5001': { status: 400, message: 'Cannot delete on-demand instances.' },
  'KOOPHONE.API.5002': { status: 400, message: 'The time request format is incorrect.' },
  'KOOPHONE.API.5004': { status: 400, message: 'The query end date is earlier than the query start date.' },
  'KOOPHONE.API.5005': { status: 400, message: 'Not all instances are running.' },
  'KOOPHONE.API.6000': { status: 400, message: 'Invalid request parameter.' },
  'KOOPHONE.API.6001': { status: 401, message: 'Authenticate Failed!' },
  'KOOPHONE.API.6002': { status: 403, message: 'No permission.' },
  'KOOPHONE.API.62005': { status: 200, message: 'The app package already exists.' },
  'KOOPHONE.API.62006': { status: 200, message: 'The app size must be a number.' },
  'KOOPHONE.API.62010': { status: 200, message: 'The cloud instance is abnormal.' },
  'KOOPHONE.API.62015': { status: 200, message: 'The size of the app package exceeds the limit of 2G.' },
  'KOOPHONE.API.62016': { status: 200, message: 'The total size of application packages uploaded by the tenant exceeds the total limit.' },
  'KOOPHONE.API.62017': { status: 200, message: 'Download failed, please check the install_package_url.' },
  'KOOPHONE.API.62019': { status: 200, message: 'Install app failed.' },
  'KOOPHONE.API.62020': { status: 200, message: 'Version Conflict.' },
  'KOOPHONE.API.62021': { status: 200, message: 'not enough space.' },
  'KOOPHONE.API.9999': { status: 500, message: 'unknown error.' },
} as const;

export type KooPhoneCode = keyof typeof KOOPHONE_ERRORS;

export function isKooPhoneCode(code: string): code is KooPhoneCode {
  return code in KOOPHONE_ERRORS;
}

/** A whole-request KooPhone failure: the code's own HTTP status and message (`detail` is appended). */
export function kpError(code: KooPhoneCode, detail?: string): ApiError {
  const { status, message } = KOOPHONE_ERRORS[code];
  return new ApiError(status, code, detail ? `${message} ${detail}` : message);
}

export function kpMessage(code: KooPhoneCode): string {
  return KOOPHONE_ERRORS[code].message;
}
