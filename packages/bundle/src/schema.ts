import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { MANIFEST_SCHEMA_VERSION } from './manifest-types.js';
import { validate as validateManifestGenerated } from './manifest-validator.generated.js';
import { AJV_OPTIONS, schemaFormats } from './schema-formats.js';

/**
 * JSON Schema of the manifest. Unknown fields are refused everywhere: a typo in
 * a resource limit must fail the build, not silently drop the limit.
 */
const REVERSE_DNS = '^[a-z][a-z0-9-]*(\\.[a-z0-9_-]+)+$';
const posInt = (maximum: number) => ({ type: 'integer', minimum: 1, maximum });
const relPath = { type: 'string', minLength: 1, maxLength: 4096 };

const healthCheck = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['exec', 'http', 'heartbeat', 'process'] } },
  allOf: [
    {
      if: { properties: { type: { const: 'exec' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: {
        required: ['type', 'command', 'timeout_secs'],
        additionalProperties: false,
        properties: {
          type: {},
          command: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          timeout_secs: posInt(3600),
        },
      },
    },
    {
      if: { properties: { type: { const: 'http' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: {
        required: ['type', 'url', 'expect_status', 'timeout_secs'],
        additionalProperties: false,
        properties: {
          type: {},
          url: { type: 'string', pattern: '^https?://' },
          expect_status: { type: 'integer', minimum: 100, maximum: 599 },
          timeout_secs: posInt(3600),
        },
      },
    },
    {
      if: { properties: { type: { const: 'heartbeat' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: {
        required: ['type', 'path', 'max_age_secs'],
        additionalProperties: false,
        properties: { type: {}, path: relPath, max_age_secs: posInt(86_400) },
      },
    },
    {
      if: { properties: { type: { const: 'process' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: { additionalProperties: false, properties: { type: {} } },
    },
  ],
};

const fileEntry = {
  type: 'object',
  required: ['path', 'type'],
  properties: { type: { enum: ['file', 'directory', 'symlink'] } },
  allOf: [
    {
      if: { properties: { type: { const: 'file' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: {
        required: ['path', 'type', 'mode', 'size', 'sha256'],
        additionalProperties: false,
        properties: {
          path: relPath,
          type: {},
          mode: { enum: [0o644, 0o755] },
          size: { type: 'integer', minimum: 0 },
          sha256: { type: 'string', format: 'sha256' },
        },
      },
    },
    {
      if: { properties: { type: { const: 'directory' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: {
        required: ['path', 'type', 'mode'],
        additionalProperties: false,
        properties: { path: relPath, type: {}, mode: { const: 0o755 } },
      },
    },
    {
      if: { properties: { type: { const: 'symlink' } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema keyword
      then: {
        required: ['path', 'type', 'target'],
        additionalProperties: false,
        properties: { path: relPath, type: {}, target: relPath },
      },
    },
  ],
};

/** Fields shared by agent.yaml and the manifest. */
const specProperties = {
  name: { type: 'string', pattern: REVERSE_DNS, maxLength: 255 },
  version: { type: 'string', format: 'semver' },
  agent_profile: {
    type: 'object',
    required: ['identifier', 'resource_limits', 'monitoring'],
    additionalProperties: false,
    properties: {
      identifier: { type: 'string', pattern: REVERSE_DNS, maxLength: 255 },
      resource_limits: {
        type: 'object',
        required: ['max_working_set_mb', 'max_cpu_percent', 'max_secure_storage_kb'],
        additionalProperties: false,
        properties: {
          max_working_set_mb: posInt(1_048_576),
          max_cpu_percent: posInt(100),
          max_secure_storage_kb: { type: 'integer', minimum: 0, maximum: 1_073_741_824 },
        },
      },
      monitoring: {
        type: 'object',
        required: ['heartbeat_interval_secs', 'anomaly_reporting'],
        additionalProperties: false,
        properties: {
          heartbeat_interval_secs: posInt(86_400),
          anomaly_reporting: { type: 'boolean' },
        },
      },
    },
  },
  entrypoint: {
    type: 'object',
    required: ['path', 'args'],
    additionalProperties: false,
    properties: { path: relPath, args: { type: 'array', items: { type: 'string' } } },
  },
  health: {
    type: 'object',
    required: ['probation_secs', 'interval_secs', 'checks'],
    additionalProperties: false,
    properties: {
      probation_secs: posInt(86_400),
      interval_secs: posInt(3600),
      checks: { type: 'array', minItems: 1, items: healthCheck },
    },
  },
  compatibility: {
    type: 'object',
    required: ['hardware', 'min_updater_version'],
    additionalProperties: false,
    properties: {
      hardware: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$', maxLength: 128 },
      },
      min_updater_version: { type: 'string', format: 'semver' },
    },
  },
  source: {
    type: 'object',
    required: ['repo', 'commit', 'ref'],
    additionalProperties: false,
    properties: {
      repo: { type: 'string', minLength: 1, maxLength: 512 },
      commit: { type: 'string', pattern: '^([0-9a-f]{40}|[0-9a-f]{64})$' },
      ref: { type: 'string', minLength: 1, maxLength: 512 },
    },
  },
};

const specRequired = ['name', 'version', 'agent_profile', 'entrypoint', 'health', 'compatibility'];

export const manifestSchema = {
  type: 'object',
  required: ['schema_version', ...specRequired, 'files'],
  additionalProperties: false,
  properties: {
    schema_version: { const: MANIFEST_SCHEMA_VERSION },
    ...specProperties,
    policy: {
      type: 'object',
      required: ['path', 'sha256'],
      additionalProperties: false,
      properties: {
        path: relPath,
        sha256: { type: 'string', format: 'sha256' },
        role: { type: 'string', minLength: 1, maxLength: 128 },
      },
    },
    files: { type: 'array', maxItems: 100_000, items: fileEntry },
  },
};

/** agent.yaml after shorthand expansion: the spec plus a policy without digest. */
export const agentSpecSchema = {
  type: 'object',
  required: specRequired,
  additionalProperties: false,
  properties: {
    ...specProperties,
    policy: {
      type: 'object',
      required: ['path'],
      additionalProperties: false,
      properties: { path: relPath, role: { type: 'string', minLength: 1, maxLength: 128 } },
    },
  },
};

// The manifest schema is compiled ahead of time (manifest-validator.generated.ts: every verify
// needs it, on a device too). agent.yaml is validated only when building, so ajv is loaded, and
// its schema compiled, on first use there: compiling at import cost every importer of
// @clawback/bundle ~0.1 s and ~15 MiB. ajv is CommonJS, so `require` keeps it synchronous.
const load = createRequire(import.meta.url);
let ajv: Ajv | undefined;
function compiler(): Ajv {
  if (!ajv) {
    const { Ajv: AjvClass } = load('ajv') as typeof import('ajv');
    ajv = new AjvClass({ ...AJV_OPTIONS });
    for (const [name, format] of Object.entries(schemaFormats)) ajv.addFormat(name, format);
  }
  return ajv;
}

const manifestValidator = validateManifestGenerated as unknown as ValidateFunction;
let agentSpecValidator: ValidateFunction | undefined;

/** Validate against the manifest schema; problems as `path: problem` lines (empty when valid). */
export function manifestSchemaProblems(value: unknown): string[] {
  return manifestValidator(value) ? [] : formatAjvErrors(manifestValidator.errors);
}

/** The manifest schema compiled at run time (tests compare it with the generated validator). */
export function compileManifestSchema(): ValidateFunction {
  return compiler().compile(manifestSchema);
}

/** Validate against the agent.yaml schema; problems as `path: problem` lines (empty when valid). */
export function agentSpecSchemaProblems(value: unknown): string[] {
  agentSpecValidator ??= compiler().compile(agentSpecSchema);
  return agentSpecValidator(value) ? [] : formatAjvErrors(agentSpecValidator.errors);
}

/** `/a/b/0/c` -> `a.b[0].c` (house style 5: every problem names its field). */
export function fieldPath(pointer: string, extra?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(root)' : out;
}

/** Turn ajv errors into `path: problem` lines, dropping the noise of if/then wrappers. */
export function formatAjvErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  const out: string[] = [];
  for (const e of errors ?? []) {
    if (e.keyword === 'if') continue;
    const params = e.params as Record<string, unknown>;
    let line: string;
    if (e.keyword === 'required') {
      line = `${fieldPath(e.instancePath, String(params.missingProperty))}: is required`;
    } else if (e.keyword === 'additionalProperties') {
      line = `${fieldPath(e.instancePath, String(params.additionalProperty))}: unknown field`;
    } else if (e.keyword === 'enum') {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      line = `${fieldPath(e.instancePath)}: must be one of ${allowed}`;
    } else if (e.keyword === 'pattern' && /name|identifier$/.test(e.instancePath)) {
      line = `${fieldPath(e.instancePath)}: must be reverse-DNS like com.example.my_agent`;
    } else if (e.keyword === 'format' && params.format === 'semver') {
      line = `${fieldPath(e.instancePath)}: must be a semantic version like 1.2.3`;
    } else {
      line = `${fieldPath(e.instancePath)}: ${e.message ?? e.keyword}`;
    }
    if (!out.includes(line)) out.push(line);
  }
  return out;
}
