// Issue 13, findings 2 and 3: a tenant's shell command must not take the server from the others. Each
// attack runs through the API on one tenant's phone while another tenant lists its phones: every answer
// must come within 2 s (a generous bound, so that a loaded CI machine does not flake; docs/reliability.md
// has the measured latencies), and the attack must end: a synchronous one within its 2 s per phone, an
// asynchronous one with its job failed with the documented code within the command time limit.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { underAttack } from '../helpers/neighbour.ts';
import { buyServers, call, startTestServer, waitForJob, type Target, type TestServer } from '../helpers/server.ts';
import {
  BIG_FILE, EXPANSION_BOMB, FILE_FLOOD, GLOB_BOMB, OUTPUT_FLOOD, PIPE_FLOOD, REGEX_BOMBS, fanOutBomb, recursionBomb, regexBombCommand, substitutionNest,
} from '../helpers/hostile-shell.ts';

const COMMANDS = '/v1/{project_id}/cloud-phone/phones/commands';
const SYNC = '/v1/{project_id}/cloud-phone/phones/sync-commands';
/** Asynchronous commands end after this long here (OPENCPH_COMMAND_TIMEOUT_SECONDS; 120 by default). */
const COMMAND_TIMEOUT_S = 3;
/** Slack over a documented time limit for the job to be closed and seen. */
const SLACK_MS = 1500;

let t: TestServer;
let phone: string;
let neighbour: Target;

before(async () => {
  t = await startTestServer({ env: { OPENCPH_SYNC_COMMANDS_PER_MINUTE: '0', OPENCPH_COMMAND_TIMEOUT_SECONDS: String(COMMAND_TIMEOUT_S) } });
  [phone] = (await buyServers(t)).phoneIds;
  neighbour = { url: t.url, tenant: await t.createTenant('tenant-b') };
  await buyServers(neighbour);
});
after(() => t?.close());

/** Runs `attack` while the neighbour is served (test/helpers/neighbour.ts: every answer within 2 s). */
const whileNeighbourServed = async <T>(ctx: TestContext, attack: () => Promise<T>): Promise<T> => (await underAttack(ctx, neighbour, attack)).result;

async function runSync(content: string) {
  const start = performance.now();
  const response = await call(t, 'POST', SYNC, { body: { command: 'shell', content, phone_ids: [phone] } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return { job: response.body.jobs[0], ms: performance.now() - start };
}

/** Queues async commands on the phone and waits for their jobs, in order. */
async function runAsync(...contents: string[]) {
  const jobs = [];
  for (const content of contents) {
    const response = await call(t, 'POST', COMMANDS, { body: { command: 'shell', content, phone_ids: [phone] } });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    jobs.push(response.body.jobs[0].job_id);
  }
  return Promise.all(jobs.map((id) => waitForJob(t, id, (COMMAND_TIMEOUT_S * 1000 + SLACK_MS) * contents.length)));
}

const seconds = (job: { begin_time: string; end_time: string }) => (Date.parse(job.end_time) - Date.parse(job.begin_time)) / 1000;

test('regular expressions that backtrack for ever in JavaScript answer at once, synchronous or not', async (ctx) => {
  await whileNeighbourServed(ctx, async () => {
    for (const bomb of REGEX_BOMBS) {
      const { job, ms } = await runSync(regexBombCommand(bomb));
      assert.deepEqual([job.status, job.execute_msg], [2, '1\n'], `${bomb.pattern}: ${JSON.stringify(job)}`);
      assert.ok(ms < 2000 + SLACK_MS, `${bomb.pattern} took ${ms} ms`);
    }
    for (const job of await runAsync(...REGEX_BOMBS.map(regexBombCommand))) assert.deepEqual([job.status, job.execute_msg], [2, '1\n']);
  });
});

test('a script that runs itself stops at the nesting limit, as fork stops at a pid limit', async (ctx) => {
  await whileNeighbourServed(ctx, async () => {
    const [job, nested] = await runAsync(recursionBomb(), substitutionNest(120));
    assert.equal(job.status, -1);
    assert.equal(job.error_code, 'CPS.0191');
    assert.match(job.execute_msg, /^\/system\/bin\/sh: can't fork - try again\n/);
    assert.ok(seconds(job) <= COMMAND_TIMEOUT_S);
    assert.match(nested.execute_msg, /can't fork - try again/);
  });
});

test('a script that fans out without end is stopped by the time limit: 2 s synchronous, the configured limit asynchronous', async (ctx) => {
  await whileNeighbourServed(ctx, async () => {
    const { job, ms } = await runSync(fanOutBomb('sync.sh'));
    assert.deepEqual([job.status, job.error_code], [-1, 'CPS.0054'], JSON.stringify(job));
    assert.ok(ms < 2000 + SLACK_MS, `the call took ${ms} ms`);
    const [queued] = await runAsync(fanOutBomb());
    assert.deepEqual([queued.status, queued.error_code], [-1, 'CPS.0054'], JSON.stringify(queued));
    assert.ok(seconds(queued) <= COMMAND_TIMEOUT_S + SLACK_MS / 1000, `the job ran ${seconds(queued)} s`);
  });
});

test('floods of output, pipes, expansions and files are cut or stopped, and memory stays bounded', async (ctx) => {
  await whileNeighbourServed(ctx, async () => {
    const rss = process.memoryUsage().rss;
    const [made, output, pipe, expansion, file, glob] = await runAsync(BIG_FILE, OUTPUT_FLOOD, PIPE_FLOOD, EXPANSION_BOMB, FILE_FLOOD, GLOB_BOMB);
    assert.equal(made.status, 2, JSON.stringify(made));
    assert.equal(output.status, 2);
    assert.equal(Buffer.byteLength(output.execute_msg), 1024);
    for (const job of [pipe, expansion, file]) {
      assert.deepEqual([job.status, job.error_code, job.execute_msg], [-1, 'CPS.0191', '/system/bin/sh: out of memory\n'], JSON.stringify(job));
    }
    assert.equal(glob.execute_msg, '0\n');
    assert.ok(process.memoryUsage().rss - rss < 512 * 2 ** 20, `rss grew by ${(process.memoryUsage().rss - rss) / 2 ** 20} MiB`);
  });
});
