#!/usr/bin/env node
// Pull the response schemas that `clawback approve` reads out of GitHub's OpenAPI description
// (@octokit/openapi, ~400 MB installed) into one small committed JSON document, so the scenario
// tests can validate every fake response against what GitHub really documents without
// shipping or loading the whole description.
//
//   node packages/approvals/scripts/extract-schemas.mjs [out.json]
//
// Output shape: { $id, info, responses: { "<METHOD> <path template>": { "<status>": schema } },
//                 components: { schemas } } with every `#/components/schemas/...` reference kept
// intact (only the schemas actually reachable are copied), so Ajv resolves them in-document.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, '../../../test/approvals/github-response-schemas.generated.json');

/** Every endpoint the collector calls, with the statuses whose bodies it reads. */
const OPERATIONS = [
  ['GET', '/repos/{owner}/{repo}', ['200', '404']],
  ['GET', '/repos/{owner}/{repo}/commits/{commit_sha}/pulls', ['200']],
  ['GET', '/repos/{owner}/{repo}/pulls/{pull_number}', ['200', '404']],
  ['GET', '/repos/{owner}/{repo}/pulls/{pull_number}/reviews', ['200']],
  ['GET', '/repos/{owner}/{repo}/pulls/{pull_number}/commits', ['200']],
  ['GET', '/repos/{owner}/{repo}/pulls/{pull_number}/files', ['200']],
  ['GET', '/repos/{owner}/{repo}/commits/{ref}', ['200', '404', '422']],
  ['GET', '/repos/{owner}/{repo}/commits', ['200']],
  ['GET', '/repos/{owner}/{repo}/compare/{basehead}', ['200', '404']],
  ['GET', '/repos/{owner}/{repo}/commits/{ref}/check-runs', ['200']],
  ['GET', '/repos/{owner}/{repo}/commits/{ref}/statuses', ['200']],
  ['GET', '/repos/{owner}/{repo}/branches/{branch}/protection', ['200', '404']],
  ['GET', '/repos/{owner}/{repo}/rules/branches/{branch}', ['200']],
  ['GET', '/repos/{owner}/{repo}/rulesets/rule-suites', ['200', '404']],
  ['GET', '/repos/{owner}/{repo}/activity', ['200']],
  ['GET', '/repos/{owner}/{repo}/contents/{path}', ['200', '403', '404']],
  ['GET', '/repos/{owner}/{repo}/actions/runs/{run_id}', ['200']],
  ['GET', '/repos/{owner}/{repo}/actions/runs/{run_id}/approvals', ['200']],
  ['GET', '/orgs/{org}/teams/{team_slug}/members', ['200']],
  ['GET', '/repos/{owner}/{repo}/branches', ['200']],
  ['GET', '/repos/{owner}/{repo}/issues', ['200']],
];

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('@octokit/openapi/package.json'));
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const spec = JSON.parse(readFileSync(join(pkgDir, 'generated/api.github.com.json'), 'utf8'));

function resolveLocal(ref) {
  const parts = ref.replace(/^#\//, '').split('/');
  let node = spec;
  for (const p of parts) node = node?.[p.replaceAll('~1', '/').replaceAll('~0', '~')];
  if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
  return node;
}

const schemas = {};
function collect(node) {
  if (Array.isArray(node)) {
    for (const n of node) collect(n);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
      const name = v.slice('#/components/schemas/'.length);
      if (!(name in schemas)) {
        schemas[name] = resolveLocal(v);
        collect(schemas[name]);
      }
    } else if (k !== 'example' && k !== 'examples') {
      collect(v);
    }
  }
}

/** Follow `#/components/responses/...` indirection to the JSON body schema. */
function bodySchema(response) {
  const r = response.$ref ? resolveLocal(response.$ref) : response;
  return r.content?.['application/json']?.schema ?? null;
}

const responses = {};
for (const [method, path, statuses] of OPERATIONS) {
  const op = spec.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${path} is not in the OpenAPI description`);
  const byStatus = {};
  for (const status of statuses) {
    const response = op.responses[status];
    if (!response) throw new Error(`${method} ${path} documents no ${status} response`);
    const schema = bodySchema(response);
    if (schema) {
      byStatus[status] = schema;
      collect(schema);
    }
  }
  responses[`${method} ${path}`] = { operationId: op.operationId, statuses: byStatus };
}

const doc = {
  $id: 'https://clawback.dev/test/github-response-schemas.json',
  info: {
    source: `${pkg.name}@${pkg.version} generated/api.github.com.json (OpenAPI ${spec.openapi})`,
    regenerate: 'node packages/approvals/scripts/extract-schemas.mjs',
  },
  responses,
  components: { schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))) },
};
writeFileSync(out, `${JSON.stringify(doc, null, 1)}\n`);
process.stderr.write(
  `wrote ${out}: ${OPERATIONS.length} operations, ${Object.keys(schemas).length} component schemas\n`,
);
