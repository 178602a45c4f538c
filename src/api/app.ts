import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ErrorObject } from 'ajv';
import type { Principal } from '../core/iam.ts';
import type { Clock } from '../core/runtime.ts';
import { LoginGuard, type LoginPolicy } from '../core/login-guard.ts';
import type { Services } from './services.ts';
import type { App } from './fastify.ts';
import { GateFull } from '../core/rate-limit.ts';
import { asOwner } from '../store/turns.ts';
import { ERROR_KEYWORDS, FINITE_KEYWORD, errorCode } from './schema.ts';
import { lazyCompilers } from './lazy-compilers.ts';
import { assertProject, pendingSignature, signaturePrincipal, tokenPrincipal } from './auth/authenticate.ts';
import { API_BODY_LIMIT, parseJsonBody } from './body.ts';
import { iamRoutes } from './iam/routes.ts';
import { catalogueRoutes } from './cph/catalogue.ts';
import { serverRoutes } from './cph/servers.ts';
import { bandwidthRoutes } from './cph/bandwidth.ts';
import { phoneRoutes } from './cph/phones.ts';
import { jobRoutes } from './cph/jobs.ts';
import { commandRoutes } from './cph/commands.ts';
import { shareRoutes } from './cph/share.ts';
import { imageRoutes } from './cph/images.ts';
import { tagRoutes } from './cph/tags.ts';
import { encodeServerRoutes } from './cph/encode-servers.ts';
import { phoneExtraRoutes } from './cph/phone-extras.ts';
import { phoneDataRoutes } from './cph/phone-data.ts';
import { keypairRoutes } from './kps/keypairs.ts';
import { koophoneRoutes } from './koophone/index.ts';
import { signalingRoutes } from './koophone/streaming.ts';
import { adminFaultRoutes } from './admin/faults.ts';
import { DomainError, codedError, gatewayError } from '../core/errors.ts';
import { httpStatus } from './errors.ts';


export interface AppOptions {
  services: Services;
  logLevel: string;
  /** Base URL clients use, for the token catalog. */
  publicUrl: () => string;
  /** False until start-up is complete (credentials written, workers running). */
  ready: () => boolean;
  /** When failed logins lock. */
  login: LoginPolicy;
  /** Reverse proxies whose X-Forwarded-For names the client (OPENCPH_TRUSTED_PROXIES). */
  trustedProxies: string[];
}

export async function buildApp(options: AppOptions): Promise<App> {
  const { services } = options;
  const app = Fastify({
    logger: { level: options.logLevel },
    genReqId: () => services.ids.hex32(),
    requestIdHeader: false,
    bodyLimit: API_BODY_LIMIT,
    // request.ip: the client behind a trusted proxy, else the connection's address.
    trustProxy: options.trustedProxies.length > 0 ? options.trustedProxies : false,
    // An id longer than any real one still reaches its route, and its not-found answer.
    routerOptions: { maxParamLength: MAX_URI_BYTES },
    // What the router refuses before any route runs (a broken percent-escape), as Huawei's gateway does.
    frameworkErrors: (error, request, reply) => {
      reply.header('X-Request-Id', request.id);
      sendError(error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? requestError('uri-too-large', 'Request URI too large') : requestError('invalid', 'Bad request'), request, reply);
    },
    clientErrorHandler: (error, socket) => refuseUnparsable(error, socket, services.ids.hex32()),
    ajv: {
      // Numbers sent as numeric strings are accepted, as Huawei's Java services accept them; a lone value
      // is never turned into an array (a string where a list belongs is an error).
      customOptions: { verbose: true, allErrors: false, coerceTypes: true, removeAdditional: false },
      plugins: [registerErrorKeywords],
    },
    schemaController: { compilersFactory: lazyCompilers() },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Keep the raw bytes: AK/SK signatures are computed over them, not over re-serialised JSON. A signed
  // body is parsed only once its signature checks out.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    request.rawBody = body;
    try {
      if (request.signature) admitSigned(request, body, services.clock);
    } catch (error) {
      return done(error as Error, undefined);
    }
    if (body.length === 0) return done(null, undefined);
    const type = request.headers['content-type'] ?? '';
    if (!/json/i.test(type) && type !== '') return done(null, body);
    const value = parseJsonBody(body);
    if (value === undefined) done(malformedBody(request), undefined);
    else done(null, value);
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id);
    done();
  });
  // A client that sent `Expect: 100-continue` waits for "100 Continue" before it sends its body. Node would
  // say it at once; instead such requests go to Fastify unanswered, and are told to go on only when their
  // body is about to be read, after every onRequest hook (the credential checks) let them through: a
  // refused client never uploads its body.
  app.server.on('checkContinue', (request, response) => app.server.emit('request', request, response));
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (/^100-continue$/i.test(request.headers.expect ?? '')) reply.raw.writeContinue();
    done(null, payload);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => sendError(toDomainError(error, request), request, reply));
  app.setNotFoundHandler((request, reply) => sendError(gatewayError('APIGW.0101'), request, reply));

  await app.register(swagger, {
    openapi: {
      info: { title: 'OpenCPH', description: 'Huawei Cloud CPH-compatible cloud phone API', version: '0.1.0' },
      components: {
        securitySchemes: {
          token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' },
        },
      },
      security: [{ token: [] }],
    },
    transform: ({ schema, url }) => ({ schema: stripErrorKeywords(schema) as typeof schema, url }),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/health', { schema: { hide: true } }, async (_request, reply) =>
    options.ready() ? { status: 'ok' } : reply.status(503).send({ status: 'starting' }),
  );

  // The admin API has its own token and no tenant credential opens it; without the setting it does not exist.
  const { admin } = services;
  if (admin) await app.register(async (scope) => adminFaultRoutes(scope as App, admin));
  // KooPhone's signalling endpoint: a WebSocket opened with a device token, not an IAM credential.
  await app.register(async (scope) => signalingRoutes(scope as App, services));

  // The API routes: authenticated unless a route says otherwise (the token API itself), from the headers
  // before the body is read: a token entirely, a signature as far as it can be without the body.
  await app.register(async (scope) => {
    scope.addHook('onRequest', (request, reply, done) => {
      if ((request.routeOptions.config.auth ?? 'project') === 'none') return done();
      try {
        const principal = tokenPrincipal(request, services.iam);
        if (principal) {
          admit(request, principal);
          return done();
        }
      } catch (error) {
        return refuseBeforeBody(request, reply, error as Error, done);
      }
      pendingSignature(request, services.iam, services.clock).then(
        (pending) => {
          request.signature = pending;
          done();
        },
        (error: Error) => refuseBeforeBody(request, reply, error, done),
      );
    });
    scope.addHook('preValidation', (request, _reply, done) => {
      try {
        // No body was parsed, so the signature is checked over an empty one.
        if (request.signature) admitSigned(request, undefined, services.clock);
        refuseNul(request);
      } catch (error) {
        return done(error as Error);
      }
      done();
    });
    // A request's store connections are its project's turns (src/store/turns.ts), shared fairly with the
    // other tenants' requests and jobs. A request that changes something runs when its account has a turn
    // (services.rateLimits.accountWrites): one tenant's burst of purchases waits in memory instead of holding
    // every store connection, each waiting for the account's quota lock.
    scope.addHook('onRoute', (route) => {
      const writes = [route.method].flat().some((method) => method !== 'GET' && method !== 'HEAD');
      const handler = route.handler;
      route.handler = function (request, reply) {
        const principal = request.principal;
        if (!principal) return handler.call(this, request, reply);
        const owner = (request.params as { project_id?: string }).project_id ?? principal.projectId ?? principal.domainId;
        if (!writes) return asOwner(owner, () => handler.call(this, request, reply));
        return asOwner(owner, () => services.rateLimits.accountWrites.run(principal.domainId, async () => handler.call(this, request, reply))).catch((error: unknown) => {
          throw error instanceof GateFull ? gatewayError('APIGW.0308') : error;
        });
      };
    });
    iamRoutes(scope as App, services, options.publicUrl, new LoginGuard(options.login, services.clock));
    const routeFamilies = [
      catalogueRoutes, serverRoutes, bandwidthRoutes, phoneRoutes, jobRoutes, commandRoutes, shareRoutes, imageRoutes,
      tagRoutes, encodeServerRoutes, phoneExtraRoutes, phoneDataRoutes, keypairRoutes, koophoneRoutes,
    ];
    for (const routes of routeFamilies) routes(scope as App, services);
  });
  return app;
}


/** The caller is `principal`; on a CPH route with `{project_id}`, that must be its project. */
function admit(request: FastifyRequest, principal: Principal): void {
  request.principal = principal;
  if ((request.routeOptions.config.auth ?? 'project') === 'project') assertProject(principal, (request.params as { project_id: string }).project_id);
}

/** A signed request whose body (`undefined`: none) has arrived: its signature is checked over those bytes. */
function admitSigned(request: FastifyRequest, body: Buffer | undefined, clock: Clock): void {
  const pending = request.signature!;
  request.signature = undefined;
  admit(request, signaturePrincipal(request, pending, body, clock));
}

/**
 * A request refused from its headers. Unless its body has already arrived whole, the connection is closed
 * after the answer instead of reading the rest of the body (up to the route's limit) only to throw it away.
 */
function refuseBeforeBody(request: FastifyRequest, reply: FastifyReply, error: Error, done: (error?: Error) => void): void {
  if (!request.raw.complete) reply.header('connection', 'close');
  done(error);
}

/**
 * PostgreSQL text cannot hold U+0000, so no stored id or name contains one and a query given one fails.
 * A parameter or body value (or key) holding it is refused before any query, as a value its schema
 * rejects: with its field's code (`x-code`) where it has one, else the route's (see validationError).
 */
function refuseNul(request: FastifyRequest): void {
  // In a path or query string U+0000 can only arrive percent-encoded (Node's parser refuses a raw one), in
  // a JSON body only escaped (JSON.parse refuses a raw one): the parsed values are walked only then.
  const inUrl = request.url.includes('%00');
  const inBody = request.body !== undefined && request.rawBody?.includes('\\u0000') === true;
  if (!inUrl && !inBody) return;
  const schema = request.routeOptions.schema ?? {};
  const parts = [['params', request.params, schema.params], ['querystring', request.query, schema.querystring], ['body', request.body, schema.body]] as const;
  for (const [context, value, root] of parts) {
    if (context === 'body' ? !inBody : !inUrl) continue;
    const path = nulPath(value);
    if (!path) continue;
    let node = root as Record<string, any> | undefined;
    for (const key of path) node = typeof key === 'number' ? node?.items : node?.properties?.[key];
    const failure = { keyword: 'pattern', instancePath: `/${path.join('/')}`, schemaPath: '', params: {}, message: 'must not contain U+0000', parentSchema: node };
    throw Object.assign(new Error(`${context}${failure.instancePath} ${failure.message}`), { statusCode: 400, validationContext: context, validation: [failure] });
  }
}

/** Where the first string or key holding U+0000 is, as the keys from the root; undefined when none does. */
function nulPath(root: unknown): Array<string | number> | undefined {
  // Iterative, each entry linked to its parent: a body may nest as deep as JSON.parse allows.
  type Step = { key: string | number; parent?: Step };
  const pathOf = (step?: Step) => {
    const keys: Array<string | number> = [];
    for (let at = step; at; at = at.parent) keys.push(at.key);
    return keys.reverse();
  };
  const pending: Array<[unknown, Step | undefined]> = [[root, undefined]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, at] = next;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return pathOf(at);
    } else if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
      for (const [key, inner] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
        if (typeof key === 'string' && key.includes('\u0000')) return pathOf({ key, parent: at });
        pending.push([inner, { key, parent: at }]);
      }
    }
  }
  return undefined;
}

/** Huawei's gateway takes URIs up to 32 KB (Node's limit on the whole request head is 16 KB). */
const MAX_URI_BYTES = 32 * 1024;

/** A request refused before any route runs: Huawei's gateway answers all of them with APIGW.0201, the status saying why. */
function requestError(kind: 'invalid' | 'timeout' | 'uri-too-large' | 'headers-too-large', message: string): DomainError {
  return new DomainError('APIGW.0201', kind, message);
}

/**
 * A request Node's HTTP parser refuses (a request head over its 16 KB limit, broken HTTP) or that did not
 * arrive within its timeouts (src/api/connections.ts), answered in the gateway's envelope before the
 * connection is closed. Like Fastify's default handler otherwise.
 */
function refuseUnparsable(error: NodeJS.ErrnoException, socket: Socket, requestId: string): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? requestError('headers-too-large', 'Request headers too large')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? requestError('timeout', 'Request timeout')
        : requestError('invalid', 'Bad request');
  const body = JSON.stringify({ request_id: requestId, error_code: refusal.code, error_msg: refusal.message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${httpStatus(refusal)} ${refusal.message}\r\nX-Request-Id: ${requestId}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function registerErrorKeywords<T extends { addKeyword(definition: string | { keyword: string; validate: (schema: unknown, data: unknown) => boolean }): unknown }>(ajv: T): T {
  for (const keyword of ERROR_KEYWORDS) if (keyword !== FINITE_KEYWORD) ajv.addKeyword(keyword);
  ajv.addKeyword({ keyword: FINITE_KEYWORD, validate: (_schema, data) => typeof data !== 'number' || Number.isFinite(data) });
  return ajv;
}

function sendError(error: DomainError, request: FastifyRequest, reply: FastifyReply) {
  const status = httpStatus(error);
  if (status >= 500) request.log.error(error);
  return reply.status(status).send({ request_id: request.id, error_code: error.code, error_msg: error.message });
}

function toDomainError(error: FastifyError, request: FastifyRequest): DomainError {
  if (error instanceof DomainError) return error;
  if (error.validation) return validationError(error.validation as ErrorObject[], request);
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return gatewayError('APIGW.0201');
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return malformedBody(request);
  if (error.statusCode && error.statusCode < 500) return malformedBody(request);
  request.log.error(error);
  return new DomainError('CPS.0003', 'internal', 'Service internal error.');
}

/**
 * The documented code of the schema node that failed (see `coded`), else the route's body code. A failed
 * union reports its branches first and itself last, so the first error that carries a code wins.
 */
function validationError(errors: ErrorObject[], request: FastifyRequest): DomainError {
  for (const error of errors) {
    const code = errorCode(error);
    if (code) return codedError(code);
  }
  return malformedBody(request);
}

/** A body that is not JSON, or a value no field rule covers: the route body's own code (else its query's). */
function malformedBody(request: FastifyRequest): DomainError {
  const { body, querystring } = (request.routeOptions.schema ?? {}) as Record<string, Record<string, unknown> | undefined>;
  return codedError((body?.['x-code'] ?? querystring?.['x-code'] ?? 'CPS.0003') as string);
}

function stripErrorKeywords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripErrorKeywords);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([key]) => !(ERROR_KEYWORDS as readonly string[]).includes(key))
      .map(([key, inner]) => [key, stripErrorKeywords(inner)]),
  );
}
