// The admin API for fault injection: `/admin/faults` and `/admin/durations`. Registered only when
// OPENCPH_ADMIN_TOKEN is set, outside the tenant scope; only `X-Admin-Token` opens it, never a tenant's
// token or AK/SK. Not part of the CPH API, so it stays out of the OpenAPI document.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../fastify.ts';
import { FAULT_OPERATIONS, TIMED_OPERATIONS, type FaultInjector } from '../../devices/faults.ts';
import { DomainError, gatewayError } from '../../core/errors.ts';

/** Admin API errors; their codes are OpenCPH's own, in the same envelope as every other error. */
const invalidBody = (detail: string) => new DomainError('OPENCPH.ADMIN.0001', 'invalid', `Invalid request body: ${detail}`);
const ruleNotFound = () => new DomainError('OPENCPH.ADMIN.0002', 'not-found', 'Fault rule not found.');

const Hex32 = Type.String({ pattern: '^[0-9a-f]{32}$' });
/** Ten minutes: longer than any lease or client timeout worth testing. */
const MAX_DURATION_MS = 600_000;

const RuleBody = Type.Object(
  {
    operation: Type.Union(FAULT_OPERATIONS.map((operation) => Type.Literal(operation))),
    phone_id: Type.Optional(Hex32),
    server_id: Type.Optional(Hex32),
    mode: Type.Union([Type.Literal('fail'), Type.Literal('hang')]),
    times: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  },
  { additionalProperties: false },
);

const DurationsBody = Type.Object(
  Object.fromEntries(TIMED_OPERATIONS.map((operation) => [operation, Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_DURATION_MS }))])),
  { additionalProperties: false },
);

const RuleParams = Type.Object({ id: Type.String() });

export function adminFaultRoutes(app: App, admin: { token: string; faults: FaultInjector }) {
  const { faults } = admin;
  const expected = digest(admin.token);

  app.addHook('onRequest', async (request) => {
    const given = request.headers['x-admin-token'];
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) throw gatewayError('APIGW.0301', 'X-Admin-Token is missing or wrong');
  });
  // The API's own parser answers a body that is not JSON with a CPH code; here it is an admin error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body: string, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch {
      done(invalidBody('not JSON'), undefined);
    }
  });
  // Calls held by 'hang' rules would keep the job workers from stopping: let them go on shutdown.
  app.addHook('onClose', async () => faults.clear());

  const hidden = { hide: true };
  app.get('/admin/faults', { schema: hidden }, async () => ({ rules: faults.list(), durations: faults.durations }));

  app.post('/admin/faults', { schema: { ...hidden, body: RuleBody }, attachValidation: true }, async (request, reply) => {
    assertValid(request);
    return reply.status(201).send(faults.add(request.body as Static<typeof RuleBody>));
  });

  app.delete('/admin/faults', { schema: hidden }, async (_request, reply) => {
    faults.clear();
    return reply.status(204).send();
  });

  app.delete('/admin/faults/:id', { schema: { ...hidden, params: RuleParams } }, async (request, reply) => {
    if (!faults.remove(request.params.id)) throw ruleNotFound();
    return reply.status(204).send();
  });

  app.put('/admin/durations', { schema: { ...hidden, body: DurationsBody }, attachValidation: true }, async (request) => {
    assertValid(request);
    faults.durations = request.body as Static<typeof DurationsBody>;
    return { durations: faults.durations };
  });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Schema failures answered with what was wrong, rather than the CPH routes' documented codes. */
function assertValid(request: FastifyRequest) {
  const error = request.validationError;
  if (!error) return;
  const [first] = (error as { validation?: Array<{ instancePath: string; message?: string }> }).validation ?? [];
  throw invalidBody(first ? `${first.instancePath || 'body'} ${first.message ?? 'is invalid'}` : error.message);
}
