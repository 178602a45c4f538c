import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, startTestServer, type ApiResponse, type Tenant, type TestServer } from '../helpers/server.ts';

const HEX32 = /^[0-9a-f]{32}$/;
const IAM_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DAY_MS = 24 * 60 * 60 * 1000;
const PHONE_MODELS = '/v1/{project_id}/cloud-phone/phone-models';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

/** POST /v3/auth/tokens with a body sent exactly as given (a string is sent as is). */
async function requestToken(url: string, body: unknown): Promise<ApiResponse> {
  const response = await fetch(`${url}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** The documented password token request, for `tenant` unless overridden. */
function passwordAuth(tenant: Tenant, options: { domain?: object; user?: string; password?: string; scope?: object } = {}) {
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: {
          user: {
            name: options.user ?? tenant.userName,
            password: options.password ?? tenant.password,
            domain: options.domain ?? { name: tenant.domainName },
          },
        },
      },
      scope: options.scope ?? { project: { name: tenant.projectName } },
    },
  };
}

/** The error envelope `{request_id, error_code, error_msg}` with its status, and the matching X-Request-Id. */
function assertError(response: ApiResponse, status: number, code: string): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body).sort(), ['error_code', 'error_msg', 'request_id']);
  assert.equal(response.body.error_code, code);
  assert.equal(typeof response.body.error_msg, 'string');
  assert.match(response.body.request_id, HEX32);
  assert.equal(response.headers.get('x-request-id'), response.body.request_id);
}

/** One entry of `projects[]`, in the shape of the documented example (spec §1.5). */
function assertDocumentedProject(project: Record<string, unknown>, domainId: string): void {
  assert.match(String(project.id), HEX32);
  assert.deepEqual(project, {
    domain_id: domainId,
    is_domain: false,
    parent_id: domainId,
    name: project.name,
    description: '',
    links: { next: null, previous: null, self: `${t.url}/v3/projects/${project.id}` },
    id: project.id,
    enabled: true,
  });
}

describe('POST /v3/auth/tokens', () => {
  test('a project-scoped password token: 201, X-Subject-Token and the token body', async () => {
    const response = await requestToken(t.url, passwordAuth(t.tenant));
    assert.equal(response.status, 201, JSON.stringify(response.body));
    const subjectToken = response.headers.get('x-subject-token');
    assert.ok(subjectToken);

    const { token } = response.body;
    assert.match(token.issued_at, IAM_TIME);
    assert.match(token.expires_at, IAM_TIME);
    assert.equal(Date.parse(token.expires_at) - Date.parse(token.issued_at), DAY_MS);
    assert.deepEqual(token.methods, ['password']);
    assert.equal(token.user.name, t.tenant.userName);
    assert.match(token.user.id, HEX32);
    assert.equal(token.user.domain.name, t.tenant.domainName);
    assert.match(token.user.domain.id, HEX32);
    assert.deepEqual(token.project, { id: t.tenant.projectId, name: t.tenant.projectName, domain: token.user.domain });
    assert.ok(token.roles.length > 0);
    for (const role of token.roles) assert.deepEqual(Object.keys(role).sort(), ['id', 'name']);
    const cph = token.catalog.find((service: { type: string }) => service.type === 'cph');
    assert.ok(cph, 'the catalog lists the cph service');
    assert.equal(cph.endpoints[0].url, t.url);

    const models = await call(t, 'GET', PHONE_MODELS, { token: subjectToken });
    assert.equal(models.status, 200, JSON.stringify(models.body));
  });

  test('scoping by project id gives a token for that project', async () => {
    const response = await requestToken(t.url, passwordAuth(t.tenant, { scope: { project: { id: t.tenant.projectId } } }));
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.deepEqual(
      { id: response.body.token.project.id, name: response.body.token.project.name },
      { id: t.tenant.projectId, name: t.tenant.projectName },
    );
    const models = await call(t, 'GET', PHONE_MODELS, { token: response.headers.get('x-subject-token') });
    assert.equal(models.status, 200, JSON.stringify(models.body));
  });

  test('a domain-scoped token lists projects but is refused on CPH paths with 403 CPS.0001', async () => {
    const response = await requestToken(t.url, passwordAuth(t.tenant, { scope: { domain: { name: t.tenant.domainName } } }));
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.token.project, undefined);
    assert.equal(response.body.token.domain.name, t.tenant.domainName);
    const token = response.headers.get('x-subject-token');

    const projects = await call(t, 'GET', '/v3/projects', { token });
    assert.equal(projects.status, 200, JSON.stringify(projects.body));
    assert.ok(projects.body.projects.some((p: { id: string }) => p.id === t.tenant.projectId));

    assertError(await call(t, 'GET', PHONE_MODELS, { token }), 403, 'CPS.0001');
  });

  test('wrong password, unknown user, unknown account or unknown project: 401 APIGW.0301 with one message', async () => {
    const attempts = {
      'wrong password': passwordAuth(t.tenant, { password: 'not-the-password' }),
      'unknown user': passwordAuth(t.tenant, { user: 'nobody' }),
      'unknown account by name': passwordAuth(t.tenant, { domain: { name: 'no-such-account' } }),
      'unknown account by id': passwordAuth(t.tenant, { domain: { id: 'f'.repeat(32) } }),
      'unknown project name': passwordAuth(t.tenant, { scope: { project: { name: 'no-such-project' } } }),
      'unknown project id': passwordAuth(t.tenant, { scope: { project: { id: 'f'.repeat(32) } } }),
      'project of another account': passwordAuth(t.tenant, { scope: { project: { name: t.tenant.projectName, domain: { name: 'no-such-account' } } } }),
      'another account as domain scope': passwordAuth(t.tenant, { scope: { domain: { name: 'no-such-account' } } }),
    };
    const messages = new Set<string>();
    for (const [attempt, body] of Object.entries(attempts)) {
      const response = await requestToken(t.url, body);
      assert.equal(response.status, 401, `${attempt}: ${JSON.stringify(response.body)}`);
      assertError(response, 401, 'APIGW.0301');
      assert.equal(response.headers.get('x-subject-token'), null);
      assert.match(response.body.error_msg, /^Incorrect IAM authentication information/);
      messages.add(response.body.error_msg);
    }
    assert.equal(messages.size, 1, `the messages tell the failures apart: ${[...messages].join(' | ')}`);
  });

  test('malformed requests: 400 IAM.0011 in the error envelope', async () => {
    const valid = passwordAuth(t.tenant);
    const identity = valid.auth.identity;
    const user = identity.password.user;
    const bodies = {
      'not JSON': '{"auth": {"identity"',
      'empty body': '',
      'no auth': {},
      'no identity': { auth: { scope: valid.auth.scope } },
      'no user name': { auth: { ...valid.auth, identity: { ...identity, password: { user: { ...user, name: undefined } } } } },
      'no password': { auth: { ...valid.auth, identity: { ...identity, password: { user: { ...user, password: undefined } } } } },
      'no domain': { auth: { ...valid.auth, identity: { ...identity, password: { user: { ...user, domain: undefined } } } } },
      'no methods': { auth: { ...valid.auth, identity: { ...identity, methods: [] } } },
      'methods without "password"': { auth: { ...valid.auth, identity: { ...identity, methods: ['token'] } } },
      'project scope without id or name': { auth: { ...valid.auth, scope: { project: {} } } },
    };
    for (const [problem, body] of Object.entries(bodies)) {
      const response = await requestToken(t.url, body);
      assert.equal(response.status, 400, `${problem}: ${JSON.stringify(response.body)}`);
      assertError(response, 400, 'IAM.0011');
      assert.equal(response.headers.get('x-subject-token'), null);
    }
  });
});

describe('project queries', () => {
  let domainId: string;
  let secondProject: { id: string; name: string };
  before(async () => {
    secondProject = await t.server.services.iam.createProject(t.tenant.domainName, 'ap-southeast-1');
    const token = await requestToken(t.url, passwordAuth(t.tenant));
    domainId = token.body.token.user.domain.id;
  });

  test('GET /v3/projects lists the account\'s projects in the documented shape', async () => {
    const response = await call(t, 'GET', '/v3/projects');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.links, { next: null, previous: null, self: `${t.url}/v3/projects` });
    assert.deepEqual(response.body.projects.map((p: { name: string }) => p.name).sort(), [secondProject.name, t.tenant.projectName].sort());
    for (const project of response.body.projects) assertDocumentedProject(project, domainId);
  });

  test('GET /v3/projects?name= returns only the project of that name', async () => {
    const named = await call(t, 'GET', `/v3/projects?name=${t.tenant.projectName}`);
    assert.equal(named.status, 200, JSON.stringify(named.body));
    assert.deepEqual(named.body.projects.map((p: { id: string }) => p.id), [t.tenant.projectId]);

    const other = await call(t, 'GET', `/v3/projects?name=${secondProject.name}`);
    assert.deepEqual(other.body.projects.map((p: { id: string }) => p.id), [secondProject.id]);

    const none = await call(t, 'GET', '/v3/projects?name=no-such-project');
    assert.equal(none.status, 200, JSON.stringify(none.body));
    assert.deepEqual(none.body.projects, []);
  });

  test('GET /v3/auth/projects lists the projects the user can scope a token to', async () => {
    const response = await call(t, 'GET', '/v3/auth/projects');
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.projects.map((p: { id: string }) => p.id).sort(), [secondProject.id, t.tenant.projectId].sort());
    for (const project of response.body.projects) assertDocumentedProject(project, domainId);
  });

  test('another account sees only its own projects, even under the same name', async () => {
    const other = await t.createTenant('tenant-b');
    assert.equal(other.projectName, t.tenant.projectName);
    for (const path of ['/v3/projects', `/v3/projects?name=${t.tenant.projectName}`, '/v3/auth/projects']) {
      const response = await call(t, 'GET', path, { token: other.token });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.deepEqual(response.body.projects.map((p: { id: string }) => p.id), [other.projectId], path);
    }
  });

  test('project queries need credentials', async () => {
    for (const path of ['/v3/projects', '/v3/auth/projects']) {
      assertError(await call(t, 'GET', path, { token: null }), 401, 'APIGW.0301');
    }
  });
});

describe('token expiry', () => {
  let clocked: TestServer;
  let current = new Date('2025-03-01T08:30:15.250Z');
  before(async () => (clocked = await startTestServer({ clock: { now: () => current } })));
  after(() => clocked.close());

  test('a token works until 24 h after issue and is refused with 401 after', async () => {
    const issued = await requestToken(clocked.url, passwordAuth(clocked.tenant));
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    assert.equal(issued.body.token.issued_at, '2025-03-01T08:30:15.250000Z');
    assert.equal(issued.body.token.expires_at, '2025-03-02T08:30:15.250000Z');
    const token = issued.headers.get('x-subject-token');
    const issuedAt = current.getTime();

    current = new Date(issuedAt + DAY_MS - 1000);
    const justBefore = await call(clocked, 'GET', PHONE_MODELS, { token });
    assert.equal(justBefore.status, 200, JSON.stringify(justBefore.body));

    current = new Date(issuedAt + DAY_MS + 1000);
    assertError(await call(clocked, 'GET', PHONE_MODELS, { token }), 401, 'APIGW.0301');
    assertError(await call(clocked, 'GET', '/v3/projects', { token }), 401, 'APIGW.0301');
  });
});
