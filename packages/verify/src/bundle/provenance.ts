import { GITHUB_WORKFLOW_BUILD_TYPE, type ProvenancePredicate, SLSA_PROVENANCE_V1 } from '@clawback/bundle';
import {
  ClawbackError,
  CoreErrors,
  INTOTO_PAYLOAD_TYPE,
  type PublicKey,
  parseDsseEnvelope,
  parseStatement,
  type Statement,
  verifyDsse,
} from '@clawback/core';
import { type Check, failFrom, failWith, pass, runCheck } from './checks.js';
import { BundleVerifyErrors as E } from './errors.js';

/** What a device or publisher pins about how its bundles must have been built. */
export interface ProvenancePolicy {
  /** Accepted buildTypes; default: only GitHub's workflow/v1. */
  buildTypes?: readonly string[];
  /** `owner/repo` (or the full repository URL) the workflow must belong to. */
  repository?: string;
  /** Workflow file path, e.g. `.github/workflows/release.yml`. */
  workflowPath?: string;
  /** Regular expression the whole workflow ref must match, e.g. `refs/tags/v.*`. */
  refPattern?: string;
}

/**
 * externalParameters each known buildType may carry. Anything else is refused
 * (SLSA v1 verification: a verifier must reject parameters it does not know,
 * because an unknown parameter may have changed what was built).
 */
const KNOWN_EXTERNAL: Record<string, Record<string, readonly string[]>> = {
  [GITHUB_WORKFLOW_BUILD_TYPE]: { workflow: ['ref', 'repository', 'path'] },
};

export interface ProvenanceEvaluation {
  checks: Check[];
  statement?: Statement<ProvenancePredicate>;
  predicate?: ProvenancePredicate;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Check a provenance statement (already authenticated by a DSSE key signature
 * or by Sigstore) against the bundle and a pinned policy. Pure; every check is
 * reported by name; a failed prerequisite skips the checks that depend on it.
 */
export function evaluateProvenanceStatement(
  statementBytes: Uint8Array,
  options: { bundleSha256: string; policy?: ProvenancePolicy; prefix?: string },
): ProvenanceEvaluation {
  const n = (s: string) => `${options.prefix ?? 'provenance'}-${s}`;
  const checks: Check[] = [];
  let statement: Statement;
  try {
    statement = parseStatement(statementBytes);
  } catch (err) {
    return { checks: [failFrom(n('statement'), err)] };
  }
  // SLSA v1: the predicateType must be exactly the provenance v1 URI.
  if (statement.predicateType !== SLSA_PROVENANCE_V1) {
    checks.push(
      failWith(
        n('predicate-type'),
        E.PROVENANCE_PREDICATE_TYPE,
        `predicateType is ${statement.predicateType}, expected ${SLSA_PROVENANCE_V1}`,
      ),
    );
    return { checks };
  }
  checks.push(pass(n('predicate-type'), SLSA_PROVENANCE_V1));
  // in-toto Statement v1: the subject must name the artifact by digest.
  const subjects = statement.subject.filter((s) => s.digest?.sha256 === options.bundleSha256);
  checks.push(
    subjects.length > 0
      ? pass(n('subject'), `subject ${subjects[0]?.name ?? ''} sha256:${options.bundleSha256}`)
      : failWith(
          n('subject'),
          E.PROVENANCE_SUBJECT_MISMATCH,
          `no subject has the bundle's sha256 ${options.bundleSha256}`,
        ),
  );
  const predicate = statement.predicate;
  const def = isObj(predicate) ? predicate.buildDefinition : undefined;
  const run = isObj(predicate) ? predicate.runDetails : undefined;
  if (
    !isObj(def) ||
    typeof def.buildType !== 'string' ||
    !isObj(def.externalParameters) ||
    !isObj(run) ||
    !isObj(run.builder) ||
    typeof run.builder.id !== 'string'
  ) {
    checks.push(
      failWith(
        n('predicate'),
        E.PROVENANCE_INVALID,
        'predicate lacks buildDefinition.buildType, externalParameters or runDetails.builder.id',
      ),
    );
    return { checks };
  }
  const typed = predicate as unknown as ProvenancePredicate;
  const allowed = options.policy?.buildTypes ?? [GITHUB_WORKFLOW_BUILD_TYPE];
  if (!allowed.includes(def.buildType)) {
    checks.push(
      failWith(
        n('build-type'),
        E.PROVENANCE_BUILD_TYPE_NOT_ALLOWED,
        `buildType ${def.buildType} is not in the allow-list (${allowed.join(', ')})`,
      ),
    );
    return { checks, statement: statement as Statement<ProvenancePredicate>, predicate: typed };
  }
  checks.push(pass(n('build-type'), def.buildType));
  checks.push(
    runCheck(n('external-parameters'), () =>
      checkExternalParameters(def.buildType as string, def.externalParameters as Obj),
    ),
  );
  const workflow = isObj(def.externalParameters.workflow) ? def.externalParameters.workflow : {};
  const policy = options.policy ?? {};
  if (policy.repository !== undefined) {
    checks.push(
      runCheck(n('repository'), () =>
        checkRepository(String(workflow.repository ?? ''), policy.repository as string),
      ),
    );
  }
  if (policy.workflowPath !== undefined) {
    checks.push(
      workflow.path === policy.workflowPath
        ? pass(n('workflow'), String(workflow.path))
        : failWith(
            n('workflow'),
            E.PROVENANCE_WORKFLOW_MISMATCH,
            `workflow path is ${JSON.stringify(workflow.path)}, expected ${policy.workflowPath}`,
          ),
    );
  }
  if (policy.refPattern !== undefined) {
    checks.push(runCheck(n('ref'), () => checkRef(String(workflow.ref ?? ''), policy.refPattern as string)));
  }
  return { checks, statement: statement as Statement<ProvenancePredicate>, predicate: typed };
}

function checkExternalParameters(buildType: string, params: Obj): string {
  const known = KNOWN_EXTERNAL[buildType] ?? {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const fields = known[key];
    if (!fields) {
      unknown.push(key);
      continue;
    }
    if (!isObj(value)) unknown.push(`${key} (not an object)`);
    else {
      for (const [f, v] of Object.entries(value)) {
        if (!fields.includes(f)) unknown.push(`${key}.${f}`);
        else if (typeof v !== 'string') unknown.push(`${key}.${f} (not a string)`);
      }
    }
  }
  if (unknown.length > 0) {
    throw new ClawbackError(
      E.PROVENANCE_EXTERNAL_PARAMETERS_UNKNOWN,
      `unknown external parameters: ${unknown.join(', ')}`,
    );
  }
  return `only known parameters (${Object.keys(params).join(', ') || 'none'})`;
}

/** `owner/repo` matches a repository URL whose path is `/owner/repo` (GitHub names are case-insensitive). */
function checkRepository(actual: string, expected: string): string {
  let want: string;
  if (/^https?:\/\//.test(expected)) want = expected.replace(/\/+$/, '').toLowerCase();
  else if (/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(expected)) want = `/${expected.toLowerCase()}`;
  else
    throw new ClawbackError(
      E.PROVENANCE_POLICY_INVALID,
      `expected repository ${JSON.stringify(expected)} is not OWNER/REPO or a URL`,
    );
  let ok = false;
  try {
    const url = new URL(actual);
    ok = want.startsWith('/') ? url.pathname.toLowerCase() === want : actual.toLowerCase() === want;
  } catch {
    ok = false;
  }
  if (!ok)
    throw new ClawbackError(
      E.PROVENANCE_REPOSITORY_MISMATCH,
      `built from ${JSON.stringify(actual)}, expected ${expected}`,
    );
  return actual;
}

function checkRef(actual: string, pattern: string): string {
  let re: RegExp;
  try {
    // Anchored: the whole ref must match, so `refs/tags/v.*` cannot match `refs/heads/evil-refs/tags/v1`.
    re = new RegExp(`^(?:${pattern})$`, 'u');
  } catch (cause) {
    throw new ClawbackError(
      E.PROVENANCE_POLICY_INVALID,
      `--expect-ref ${JSON.stringify(pattern)} is not a valid regular expression`,
      { cause },
    );
  }
  if (!re.test(actual))
    throw new ClawbackError(
      E.PROVENANCE_REF_MISMATCH,
      `workflow ref ${JSON.stringify(actual)} does not match ${pattern}`,
    );
  return actual;
}

export interface ProvenanceSignatureOptions {
  trustedKeys: readonly PublicKey[];
  threshold: number;
}

/**
 * Verify a DSSE provenance envelope signed by the release key(s), then evaluate
 * its statement. Checks: provenance-payload-type, provenance-signature and
 * those of `evaluateProvenanceStatement`.
 */
export function verifyProvenance(
  envelopeJson: unknown,
  options: ProvenanceSignatureOptions & { bundleSha256: string; policy?: ProvenancePolicy },
): ProvenanceEvaluation & { statementBytes?: Uint8Array } {
  const checks: Check[] = [];
  let envelope: ReturnType<typeof parseDsseEnvelope>;
  try {
    envelope = parseDsseEnvelope(envelopeJson, 'provenance');
  } catch (err) {
    return { checks: [failFrom('provenance-signature', err)] };
  }
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE) {
    checks.push(
      failWith(
        'provenance-payload-type',
        CoreErrors.PAYLOAD_TYPE_MISMATCH,
        `payloadType is ${envelope.payloadType}, expected ${INTOTO_PAYLOAD_TYPE}`,
      ),
    );
    return { checks };
  }
  checks.push(pass('provenance-payload-type', INTOTO_PAYLOAD_TYPE));
  let payload: Uint8Array;
  try {
    const r = verifyDsse(envelope, { ...options, payloadType: INTOTO_PAYLOAD_TYPE, source: 'provenance' });
    payload = r.payload;
    checks.push(
      pass(
        'provenance-signature',
        `${r.validKeyIds.length} of ${options.threshold} required key(s): ${r.validKeyIds.join(', ')}`,
      ),
    );
  } catch (err) {
    checks.push(failFrom('provenance-signature', err));
    return { checks };
  }
  const evaluation = evaluateProvenanceStatement(payload, options);
  return { ...evaluation, checks: [...checks, ...evaluation.checks], statementBytes: payload };
}
