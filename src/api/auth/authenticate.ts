import type { FastifyRequest } from 'fastify';
import type { Iam, Principal } from '../../core/iam.ts';
import type { Clock } from '../../core/runtime.ts';
import { checkSignedHeaders, parseAuthorization, verifySignature, type ParsedAuthorization } from './signature.ts';
import { cpsError, gatewayError } from '../../core/errors.ts';

/**
 * An AK/SK request whose headers checked out (the key exists, X-Sdk-Date is in the window, the signed
 * headers are there); its signature covers the body, so it is verified once the body has arrived.
 */
export interface PendingSignature {
  authorization: ParsedAuthorization;
  key: NonNullable<Awaited<ReturnType<Iam['accessKey']>>>;
}

/**
 * Who is calling with an `X-Auth-Token` from POST /v3/auth/tokens; undefined when the request carries
 * none. Synchronous and without a query: checked before the body is read. Throws APIGW.0301 (401).
 */
export function tokenPrincipal(request: FastifyRequest, iam: Iam): Principal | undefined {
  const token = request.headers['x-auth-token'];
  if (typeof token !== 'string' || token === '') return undefined;
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

/**
 * Everything an `SDK-HMAC-SHA256` signature's headers can prove before the body is read: the header's
 * shape, the access key, X-Sdk-Date and the signed headers. Throws APIGW.0301 (401) for anything else,
 * a request with no credential at all included.
 */
export async function pendingSignature(request: FastifyRequest, iam: Iam, clock: Clock): Promise<PendingSignature> {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header === '') {
    throw gatewayError('APIGW.0301', 'no X-Auth-Token or Authorization header');
  }
  const authorization = parseAuthorization(header);
  if (!authorization) throw gatewayError('APIGW.0301', 'the Authorization header is not an SDK-HMAC-SHA256 signature');
  const headersCheck = checkSignedHeaders({ method: request.method, url: request.raw.url ?? request.url, headers: request.headers }, authorization, clock.now());
  if (!headersCheck.ok) throw gatewayError('APIGW.0301', headersCheck.reason);
  const key = await iam.accessKey(authorization.accessKey);
  if (!key) throw gatewayError('APIGW.0301', 'the access key does not exist');
  return { authorization, key };
}

/** Who is calling once the signature checks out over `body`, the raw bytes as they arrived. Throws APIGW.0301 (401). */
export function signaturePrincipal(request: FastifyRequest, pending: PendingSignature, body: Buffer | undefined, clock: Clock): Principal {
  const { authorization, key } = pending;
  const check = verifySignature({ method: request.method, url: request.raw.url ?? request.url, headers: request.headers, body }, authorization, key.sk, clock.now());
  if (!check.ok) throw gatewayError('APIGW.0301', check.reason);
  const projectHeader = request.headers['x-project-id'];
  if (typeof projectHeader === 'string' && projectHeader !== key.project_id) {
    throw cpsError('CPS.0001', { kind: 'forbidden' });
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
  if (principal.projectId !== projectId) throw cpsError('CPS.0001', { kind: 'forbidden' });
}
