import { Type, type Static } from '@sinclair/typebox';
import type { App } from '../fastify.ts';
import type { Services } from '../services.ts';
import { LoginsBusy } from '../../core/iam.ts';
import type { LoginGuard } from '../../core/login-guard.ts';
import { TOKEN_BODY_LIMIT } from '../body.ts';
import { addressKey } from '../connections.ts';
import { coded } from '../schema.ts';
import { codedError, gatewayError } from '../../core/errors.ts';

const NameOrId = Type.Object({ name: Type.Optional(Type.String()), id: Type.Optional(Type.String()) });

const TokenRequest = coded(
  Type.Object({
    auth: Type.Object({
      identity: Type.Object({
        methods: Type.Array(Type.String(), { minItems: 1 }),
        password: Type.Object({
          user: Type.Object({
            name: Type.String({ minLength: 1 }),
            password: Type.String({ minLength: 1 }),
            domain: NameOrId,
          }),
        }),
      }),
      scope: Type.Optional(
        Type.Object({
          project: Type.Optional(Type.Object({ name: Type.Optional(Type.String()), id: Type.Optional(Type.String()), domain: Type.Optional(NameOrId) })),
          domain: Type.Optional(NameOrId),
        }),
      ),
    }),
  }),
  'IAM.0011',
);

/** The one reason given for every failed login, so that a caller cannot tell which part was wrong. */
const LOGIN_FAILED = 'the account, user name, password or scope is wrong';

/** Huawei IAM's answer to a locked user's token request (401 "The account is locked."), in the gateway's envelope. */
const LOGIN_LOCKED = 'The account is locked.';

/** The IAM subset CPH clients need: password tokens and the documented way to find a project id. */
export function iamRoutes(app: App, services: Services, publicUrl: () => string, logins: LoginGuard) {
  const { iam } = services;

  /**
   * The user's password check, unless failed logins locked it (see LoginGuard). An account given by an
   * id that does not exist is counted under that id, so that every way of naming a user counts once.
   */
  const checkPassword = async (domain: Static<typeof NameOrId>, userName: string, password: string, address: string) => {
    const domainName = domain.name ?? (domain.id ? (await iam.domainById(domain.id))?.name : undefined);
    const attempt = logins.begin(`${domainName ?? `#${domain.id}`}\n${userName}`, addressKey(address));
    if (attempt === 'locked') throw gatewayError('APIGW.0301', LOGIN_LOCKED);
    if (attempt === 'throttled') throw gatewayError('APIGW.0308');
    let login: Awaited<ReturnType<typeof iam.checkPassword>>;
    try {
      // No account has an empty name: an unknown account id costs the same check as a wrong password.
      login = await iam.checkPassword(domainName ?? '', userName, password);
    } catch (error) {
      attempt.finish('unchecked');
      throw error instanceof LoginsBusy ? gatewayError('APIGW.0308') : error;
    }
    attempt.finish(login ? 'succeeded' : 'failed');
    return login;
  };

  app.post('/v3/auth/tokens', { bodyLimit: TOKEN_BODY_LIMIT, config: { auth: 'none' }, schema: { tags: ['IAM'], summary: 'KeystoneCreateUserTokenByPassword', body: TokenRequest, security: [] } }, async (request, reply) => {
    const { identity, scope } = request.body.auth;
    if (!identity.methods.includes('password')) throw codedError('IAM.0011');
    if (scope?.project && !scope.project.id && !scope.project.name) throw codedError('IAM.0011');
    const user = identity.password.user;
    const login = await checkPassword(user.domain, user.name, user.password, request.ip);
    if (!login) throw gatewayError('APIGW.0301', LOGIN_FAILED);
    // A user can scope a token only to its own account or one of that account's projects.
    const isOwnDomain = (ref: Static<typeof NameOrId>) => ref.name === login.domainName || ref.id === login.domainId;
    let project: { id: string; name: string } | undefined;
    if (scope?.project) {
      const { id, name, domain } = scope.project;
      project = !domain || isOwnDomain(domain) ? await iam.project(login.domainId, { id, name }) : undefined;
      if (!project) throw gatewayError('APIGW.0301', LOGIN_FAILED);
    } else if (scope?.domain && !isOwnDomain(scope.domain)) {
      throw gatewayError('APIGW.0301', LOGIN_FAILED);
    }
    const { token, claims } = iam.issueToken({ ...login, projectId: project?.id, projectName: project?.name, methods: ['password'] });
    const domain = { id: login.domainId, name: login.domainName };
    const endpoint = publicUrl();
    reply.header('X-Subject-Token', token).status(201);
    return {
      token: {
        expires_at: new Date(claims.expiresAt).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
        issued_at: new Date(claims.issuedAt).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
        methods: claims.methods,
        user: { id: login.userId, name: login.userName, domain, password_expires_at: '' },
        ...(project ? { project: { id: project.id, name: project.name, domain } } : { domain }),
        roles: [{ id: '0', name: 'op_service' }, { id: '1', name: 'te_admin' }],
        catalog: [
          {
            type: 'cph',
            id: 'cph',
            name: 'cph',
            endpoints: [{ id: 'cph', interface: 'public', region: project?.name ?? '*', region_id: project?.name ?? '*', url: endpoint }],
          },
          {
            type: 'identity',
            id: 'iam',
            name: 'iam',
            endpoints: [{ id: 'iam', interface: 'public', region: '*', region_id: '*', url: `${endpoint}/v3` }],
          },
        ],
      },
    };
  });

  const listProjects = async (domainId: string, name: string | undefined) => {
    const base = publicUrl();
    const projects = await iam.projectsOfDomain(domainId, name);
    return {
      projects: projects.map((p) => ({
        domain_id: p.domain_id,
        is_domain: false,
        parent_id: p.domain_id,
        name: p.name,
        description: '',
        links: { next: null, previous: null, self: `${base}/v3/projects/${p.id}` },
        id: p.id,
        enabled: true,
      })),
      links: { next: null, previous: null, self: `${base}/v3/projects` },
    };
  };
  const projectQuery = coded(Type.Object({ name: Type.Optional(Type.String()) }), 'IAM.0011');
  app.get('/v3/projects', { config: { auth: 'any' }, schema: { tags: ['IAM'], summary: 'KeystoneListProjects', querystring: projectQuery } }, async (request) =>
    listProjects(request.principal!.domainId, request.query.name),
  );
  app.get('/v3/auth/projects', { config: { auth: 'any' }, schema: { tags: ['IAM'], summary: 'KeystoneListAuthProjects' } }, async (request) =>
    listProjects(request.principal!.domainId, undefined),
  );
}
