import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials.js';

/**
 * Signs a request with the OFFICIAL signer from @huaweicloud/huaweicloud-sdk-core (AKSKSigner) and returns
 * the headers to send: the given headers plus X-Sdk-Date, host and Authorization. Send the request to
 * `url` as is (fetch encodes it the way the SDK's axios does) with `body` as the exact body bytes.
 *
 * The request object is built the way the SDK's HcClient and BasicCredentials build it:
 * - endpoint: origin plus the path as the caller wrote it (the SDK inserts path parameters unencoded);
 * - queryParams: the decoded query, a repeated name as an array;
 * - data: the parsed JSON body; the signer hashes JSON.stringify(data), which is also what the SDK sends;
 * - a Content-Type other than application/json makes the SDK add `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`.
 * Pass `X-Sdk-Date` in `headers` to sign at a chosen time.
 */
export function signWithOfficialSigner(opts: {
  method: string;
  /** Absolute, e.g. http://127.0.0.1:port/path?query */
  url: string;
  headers?: Record<string, string>;
  body?: string;
  ak: string;
  sk: string;
}): Record<string, string> {
  const url = new URL(opts.url);
  const queryParams: Record<string, string | string[]> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name);
    queryParams[name] = values.length === 1 ? values[0] : values;
  }

  const headers = { ...opts.headers };
  const contentType = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  let data: unknown;
  if (contentType !== undefined && contentType.toLowerCase() !== 'application/json') {
    headers['X-Sdk-Content-Sha256'] = 'UNSIGNED-PAYLOAD';
  } else if (opts.body !== undefined) {
    data = JSON.parse(opts.body);
    if (!data || JSON.stringify(data) !== opts.body) {
      throw new Error(`the official signer hashes JSON.stringify(body), so the body must be written that way: ${opts.body}`);
    }
  }

  const request = {
    method: opts.method,
    endpoint: url.origin + decodeURIComponent(url.pathname),
    queryParams,
    headers,
    data,
  };
  return AKSKSigner.sign(request, new BasicCredentials().withAk(opts.ak).withSk(opts.sk)) as Record<string, string>;
}
