import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let t: TestServer;
before(async () => (t = await startTestServer()));
after(() => t.close());

/**
 * Every operation docs/api-coverage.md calls implemented, as its method and path: the first `METHOD /path`
 * of the row's backticked "Method and path" cell (rows naming no path, such as a query parameter of another
 * operation, are skipped). The operator API (its own section, last) is not part of the public document.
 */
function coveredOperations(): Array<{ name: string; method: string; path: string }> {
  const coverage = readFileSync(fileURLToPath(new URL('../../docs/api-coverage.md', import.meta.url)), 'utf8');
  const table = coverage.slice(0, coverage.indexOf('\n## Operator APIs'));
  const operations = [];
  for (const line of table.split('\n')) {
    const cells = line.split(' | ');
    const route = /`(GET|POST|PUT|DELETE) (\/[^` ?]*)/.exec(line);
    if (!line.startsWith('|') || !route || !cells.some((cell) => cell.startsWith('implemented'))) continue;
    const name = cells.find((cell) => /^[A-Z][A-Za-z]+( \(|,|$)/.test(cell.trim()))?.trim() ?? route[0];
    operations.push({ name, method: route[1].toLowerCase(), path: route[2] });
  }
  return operations;
}

test('/openapi.json describes every implemented operation of docs/api-coverage.md, without the internal error keywords', async () => {
  const response = await fetch(`${t.url}/openapi.json`);
  assert.equal(response.status, 200);
  const document = await response.json();
  assert.match(document.openapi, /^3\./);
  const operations = coveredOperations();
  assert.ok(operations.length >= 60, `${operations.length} operations read from docs/api-coverage.md`);
  assert.ok(operations.some((op) => op.path.startsWith('/v1/instances/')), 'KooPhone operations are covered');
  for (const { name, method, path } of operations) {
    const described = document.paths[path]?.[method];
    assert.ok(described, `${name}: ${method.toUpperCase()} ${path} is in the OpenAPI document`);
    assert.ok(described.summary, `${name}: ${method.toUpperCase()} ${path} has a summary`);
  }
  const purchase = document.paths['/v1/{project_id}/cloud-phone/phones'].post.requestBody.content['application/json'].schema;
  assert.equal(purchase.properties.server_name.maxLength, 60);
  assert.ok(!JSON.stringify(document).includes('x-code'));
});

test('/docs serves the browsable API reference', async () => {
  const response = await fetch(`${t.url}/docs`, { redirect: 'follow' });
  assert.equal(response.status, 200);
  assert.match(await response.text(), /swagger/i);
});
