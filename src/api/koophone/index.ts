import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import type { App } from '../fastify.ts';
import { errorCode } from '../schema.ts';
import type { Services } from '../services.ts';
import { instanceRoutes } from './instances.ts';
import { streamingRoutes } from './streaming.ts';
import { usageRoutes } from './usage.ts';
import { DomainError, gatewayError, isKooPhoneCode, kpError, type CpsCode, type KooPhoneCode } from '../../core/errors.ts';
import { httpStatus } from '../errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** KooPhone `x-request-id`: 'required' where both the documents and the SDK send it (spec §1.2.2). */
    requestId?: 'required';
    /** SyncCommand's error bodies carry `error_info` as well as `error_msg` (spec §2.1). */
    errorInfo?: boolean;
  }
}

/** Longest `x-request-id` accepted (spec §1.2.2: an id, no format documented). */
const MAX_REQUEST_ID = 128;

/**
 * KooPhone / CloudDevice (`/v1/instances/...`): the tenant's view of the same phones. No project in the
 * path: the credential's project is the tenant. Answers use the KooPhone envelope
 * `{error_code, error_msg, data}` with `KOOPHONE.API.xxxx` codes, errors included.
 */
export function koophoneRoutes(app: App, services: Services) {
  app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      if (!route.config?.iamAction) throw new Error(`KooPhone route ${route.method} ${route.url} has no iamAction`);
      route.config = { auth: 'any', ...route.config };
    });
    scope.addHook('preValidation', async (request, reply) => {
      // Authentication ran in the enclosing scope; KooPhone needs a project-scoped credential (spec §1.3.1).
      if (!request.principal?.projectId) throw kpError('KOOPHONE.API.6001');
      const given = requestIdOf(request);
      if (given === undefined) {
        if (request.routeOptions.config.requestId === 'required') throw kpError('KOOPHONE.API.0002');
        return;
      }
      if (given === '' || given.length > MAX_REQUEST_ID || /[\u0000-\u001f\u007f]/.test(given)) throw kpError('KOOPHONE.API.0003');
      reply.header('X-Request-Id', given);
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => sendKooPhoneError(toKooPhoneError(error, request), request, reply));

    const operations = async (routes: App) => {
      instanceRoutes(routes, services);
      usageRoutes(routes, services);
      // Last: its parametric `/instances/:instance_id/auth` must not shadow the literal routes.
      streamingRoutes(routes, services);
    };
    await scope.register(operations, { prefix: '/v1' });
    // Several document examples and the action table omit `/v1` (spec §0.2): the same routes, undocumented.
    await scope.register(async (alias) => {
      alias.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, hide: true };
      });
      await operations(alias as App);
    });
  });
}

/** `x-request-id` as a header or as a query parameter (the SDK sends it in the query on batch-query). */
function requestIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-request-id'];
  if (typeof header === 'string') return header;
  const query = (request.query as Record<string, unknown> | undefined)?.['x-request-id'];
  return typeof query === 'string' ? query : undefined;
}

function sendKooPhoneError(error: DomainError, request: FastifyRequest, reply: FastifyReply) {
  const status = httpStatus(error);
  if (status >= 500) request.log.error(error);
  const body: Record<string, string> = { error_code: error.code, error_msg: error.message };
  if (request.routeOptions.config.errorInfo) body.error_info = error.message;
  // Business errors may be HTTP 200: bypass the route's success schema.
  return reply.status(status).serializer(JSON.stringify).send(body);
}

/**
 * The CPS codes a KooPhone request can meet in the CPH code it shares, and what KooPhone answers instead:
 * the body parser's (the body is not JSON) and the command checks (KooPhone checks a command's length and
 * characters first, so these are a backstop).
 */
const KOOPHONE_FOR_CPS: Partial<Record<CpsCode, KooPhoneCode>> = {
  'CPS.0003': 'KOOPHONE.API.6000',
  'CPS.0118': 'KOOPHONE.API.1000',
  'CPS.0190': 'KOOPHONE.API.1000',
};

function toKooPhoneError(error: FastifyError, request: FastifyRequest): DomainError {
  if (error instanceof DomainError) {
    if (isKooPhoneCode(error.code) || error.code.startsWith('APIGW.')) return error;
    const translated = error.kind === 'internal' ? undefined : KOOPHONE_FOR_CPS[error.code as CpsCode];
    if (translated) return kpError(translated);
    // A CPS code the table lacks is a rule of the shared CPH code that KooPhone's own checks should have met first.
    request.log.error(error);
    return kpError('KOOPHONE.API.9999');
  }
  if (error.validation) {
    for (const failure of error.validation as ErrorObject[]) {
      const code = errorCode(failure);
      if (code && isKooPhoneCode(code)) return kpError(code);
    }
    return kpError('KOOPHONE.API.1000');
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return gatewayError('APIGW.0201');
  if (error.statusCode && error.statusCode < 500) return kpError('KOOPHONE.API.6000');
  request.log.error(error);
  return kpError('KOOPHONE.API.9999');
}
