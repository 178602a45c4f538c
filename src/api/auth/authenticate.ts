import type { FastifyRequest } from 'fastify';
import type { Iam, Principal } from '../../core/iam.ts';
import type { Clock } from '../../core/runtime.ts';
import { cpsError, gatewayError } from '../errors.ts';
import { parseAuthorization, verifySignature } from './signature.ts';

/** AK/SK-signed bodies are capped at 12 MB, as Huawei's gateway does. */
export const SIGNED_BODY_LIMIT = 12 * 1024 * 1024;

/**
 * Who is calling: an `X-Auth-Token` from POST /v3/auth/tokens, or an `SDK-HMAC-SHA256` signature made
 * with an access key. Throws APIGW.0301 (401) for anything else.
 */
export async function authenticate(request: FastifyRequest, iam: Iam, clock: Clock): Promise<Principal> {
  const token = request.headers['x-auth-token'];
  if (typeof token === 'string' && token !== '') {
    const claims = iam.verifyToken(token);
    if ('refused' in claims) throw gatewayError('APIGW.0301', claims.refused);
    return {
      userId: claims.userId,
      userName: claims.userName,
      domainId: claims.domainId,
      domainName: claims.domainName,
      projectId: claims.projectId,
      method: 'token',
    };
  }
  const authorization = request.headers.authorization;
  if (typeof authorization !== 'string' || authorization === '') {
    throw gatewayError('APIGW.0301', 'no X-Auth-Token or Authorization header');
  }
  const parsed = parseAuthorization(authorization);
  if (!parsed) throw gatewayError('APIGW.0301', 'the Authorization header is not an SDK-HMAC-SHA256 signature');
  const key = await iam.accessKey(parsed.accessKey);
  if (!key) throw gatewayError('APIGW.0301', 'the access key does not exist');
  const rawBody = request.rawBody;
  if (rawBody && rawBody.length > SIGNED_BODY_LIMIT) throw gatewayError('APIGW.0201');
  const check = verifySignature(
    { method: request.method, url: request.raw.url ?? request.url, headers: request.headers, body: rawBody },
    parsed,
    key.sk,
    clock.now(),
  );
  if (!check.ok) throw gatewayError('APIGW.0301', check.reason);
  const projectHeader = request.headers['x-project-id'];
  if (typeof projectHeader === 'string' && projectHeader !== key.project_id) {
    throw cpsError('CPS.0001', { status: 403 });
  }
  return {
    userId: key.user_id,
    userName: key.user_name,
    domainId: key.domain_id,
    domainName: key.domain_name,
    projectId: key.project_id,
    method: 'aksk',
  };
}

/** A CPH path's `{project_id}` must be the credential's own project. */
export function assertProject(principal: Principal, projectId: string): void {
  if (principal.projectId !== projectId) throw cpsError('CPS.0001', { status: 403 });
}
