import { basename } from 'node:path';
import type { SourceRef } from '@clawback/bundle';
import {
  ClawbackError,
  type CommandContext,
  type CommandSpec,
  CoreErrors,
  ExitCode,
  exitCodeFor,
  loadSigner,
  readTextChecked,
} from '@clawback/core';
import type { BundleVerificationReport } from '@clawback/sign/verify';
import type { ProvenancePolicy } from '@clawback/verify';

// Packages are loaded when a command runs, not when the CLI starts: a verify on a device-sized
// machine should not pay for the build side's Sigstore and TUF code (startup time and memory).
const bundlePkg = () => import('@clawback/bundle');
const signPkg = () => import('@clawback/sign');
// `bundle verify` needs only the file verifier: its own entry point keeps the build side unloaded.
const signVerifyPkg = () => import('@clawback/sign/verify');
const signBundlePkg = () => import('@clawback/sign/bundle');
const verifyPkg = () => import('@clawback/verify');

/** In GitHub Actions, record the source the bundle was built from when agent.yaml does not. */
function sourceFromEnv(env: NodeJS.ProcessEnv): SourceRef | undefined {
  const { GITHUB_REPOSITORY: repo, GITHUB_SHA: commit, GITHUB_REF: ref } = env;
  return repo && commit && ref ? { repo, commit, ref } : undefined;
}

const build: CommandSpec = {
  name: 'bundle build',
  summary: 'build a reproducible bundle from a directory and agent.yaml',
  description:
    'Deterministic tar: clawback/manifest.json first, payload sorted, mtime from SOURCE_DATE_EPOCH (default 0), owner root:root, modes 0644/0755. Hardlinks, devices, fifos, sockets and links leaving DIR are refused.',
  args: [{ name: 'DIR', description: 'directory whose contents become the payload' }],
  options: {
    manifest: {
      type: 'string',
      valueName: 'agent.yaml',
      description: 'agent description (see docs/bundle-format.md)',
    },
    out: { type: 'string', valueName: 'FILE', description: 'bundle file to write' },
    overwrite: { type: 'boolean', description: 'replace FILE if it exists' },
    key: {
      type: 'string',
      multiple: true,
      valueName: 'KEY',
      description: 'also sign the new manifest (writes FILE.sig.json, replacing an old one)',
    },
  },
  exitCodes: [
    { code: ExitCode.INPUT, meaning: 'agent.yaml invalid (every field listed) or DIR holds refused entries' },
    { code: ExitCode.STATE, meaning: 'FILE exists (BUILD_OUTPUT_EXISTS)' },
  ],
  examples: [
    'SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) clawback bundle build app --manifest agent.yaml --out agent.bundle',
  ],
  async run(ctx) {
    const { buildBundle, parseAgentYaml, parseSourceDateEpoch } = await bundlePkg();
    const dir = ctx.requireArg(0);
    const manifestPath = ctx.requireString('manifest');
    const spec = parseAgentYaml(await readTextChecked(manifestPath, 'agent.yaml'), manifestPath);
    const source = spec.source ?? sourceFromEnv(ctx.env);
    const epoch = parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH);
    // Keys are loaded before building, so a bad key changes nothing on disk.
    const signers = [];
    for (const ref of ctx.strings('key')) signers.push(await loadSigner(ref, ctx.env));
    const r = await buildBundle({
      dir,
      spec: source ? { ...spec, source } : spec,
      out: ctx.requireString('out'),
      overwrite: ctx.flag('overwrite'),
      ...(epoch === undefined ? {} : { sourceDateEpoch: epoch }),
      onProgress: (m) => ctx.progress(m),
    });
    const files = r.manifest.files.filter((f) => f.type === 'file').length;
    let signature: string | undefined;
    if (signers.length > 0) {
      const { signBuiltManifest } = await signBundlePkg();
      signature = (await signBuiltManifest({ bundlePath: r.path, manifestBytes: r.manifestBytes, signers }))
        .signaturePath;
    }
    ctx.result(
      {
        ok: true,
        path: r.path,
        size: r.size,
        name: r.manifest.name,
        version: r.manifest.version,
        files,
        signature,
      },
      `built ${r.path}: ${r.manifest.name} ${r.manifest.version}, ${files} file(s), ${r.size} bytes${signature ? `; signed: ${signature}` : ''}`,
    );
    return ExitCode.OK;
  },
};

const sign: CommandSpec = {
  name: 'bundle sign',
  summary: 'sign the bundle manifest: writes or extends FILE.sig.json (DSSE)',
  description:
    'Each holder of a key runs this in turn; signatures are appended, so a verifier can require k of n. The payload is exactly the bytes of clawback/manifest.json; every file is checked against it before signing.',
  args: [{ name: 'FILE', description: 'bundle file' }],
  options: {
    key: { type: 'string', multiple: true, valueName: 'KEY', description: 'private key file or env:VAR' },
    signature: { type: 'string', valueName: 'PATH', description: 'signature file (default FILE.sig.json)' },
  },
  exitCodes: [
    { code: ExitCode.REJECTED, meaning: 'the bundle does not match its own manifest (nothing is signed)' },
    { code: ExitCode.STATE, meaning: 'the existing signature file signs another manifest' },
  ],
  examples: [
    'clawback bundle sign agent.bundle --key keys/release-1.key',
    'clawback bundle sign agent.bundle --key env:RELEASE_KEY',
  ],
  async run(ctx) {
    const refs = ctx.strings('key');
    if (refs.length === 0) return usage(ctx, '--key is required');
    const { signBundleFile } = await signBundlePkg();
    const signers = [];
    for (const ref of refs) signers.push(await loadSigner(ref, ctx.env));
    const sigPath = ctx.string('signature');
    const r = await signBundleFile({
      bundlePath: ctx.requireArg(0),
      signers,
      ...(sigPath ? { signaturePath: sigPath } : {}),
    });
    ctx.result(
      {
        ok: true,
        signature: r.signaturePath,
        added: r.added,
        signatures: r.envelope.signatures.map((s) => s.keyid),
      },
      `${r.signaturePath}: ${r.envelope.signatures.length} signature(s)${r.added.length ? `, added ${r.added.join(', ')}` : ', nothing new'}`,
    );
    return ExitCode.OK;
  },
};

const inspect: CommandSpec = {
  name: 'bundle inspect',
  summary: 'show a bundle manifest and check its internal consistency (no signature check)',
  args: [{ name: 'FILE', description: 'bundle file' }],
  examples: ['clawback bundle inspect agent.bundle --json'],
  async run(ctx) {
    const path = ctx.requireArg(0);
    const { readBundle } = await bundlePkg();
    const { openBundle } = await signBundlePkg();
    const r = await readBundle(await openBundle(path), { hashWhole: true });
    const m = r.manifest;
    ctx.result(
      { ok: true, path, sha256: r.sha256, size: r.size, manifest: m },
      [
        `${basename(path)}: ${m.name} ${m.version} (sha256 ${r.sha256})`,
        `  entrypoint ${m.entrypoint.path} ${m.entrypoint.args.join(' ')}`.trimEnd(),
        `  limits: ${m.agent_profile.resource_limits.max_working_set_mb} MB, ${m.agent_profile.resource_limits.max_cpu_percent}% CPU, ${m.agent_profile.resource_limits.max_secure_storage_kb} KB secure storage`,
        `  health: ${m.health.checks.map((c) => c.type).join(', ')}; probation ${m.health.probation_secs}s`,
        `  hardware: ${m.compatibility.hardware.join(', ')}; updater >= ${m.compatibility.min_updater_version}`,
        ...(m.policy ? [`  policy: ${m.policy.path} sha256 ${m.policy.sha256}`] : []),
        ...(m.source ? [`  source: ${m.source.repo}@${m.source.commit} (${m.source.ref})`] : []),
        `  ${r.fileCount} file(s), ${r.payloadBytes} payload bytes; unverified: run \`clawback bundle verify\``,
      ].join('\n'),
    );
    return ExitCode.OK;
  },
};

const verify: CommandSpec = {
  name: 'bundle verify',
  summary: 'verify signatures, every file digest, provenance and Sigstore; each check by name',
  args: [{ name: 'FILE', description: 'bundle file' }],
  options: {
    'trusted-key': {
      type: 'string',
      multiple: true,
      valueName: 'PUB',
      description: 'public key trusted to sign manifests',
    },
    threshold: { type: 'string', valueName: 'N', description: 'distinct trusted keys required (default 1)' },
    signature: { type: 'string', valueName: 'PATH', description: 'signature file (default FILE.sig.json)' },
    provenance: { type: 'string', valueName: 'PATH', description: 'DSSE provenance (FILE.provenance.json)' },
    'provenance-key': {
      type: 'string',
      multiple: true,
      valueName: 'PUB',
      description: 'key trusted to sign provenance (default: the trusted keys)',
    },
    'expect-repo': {
      type: 'string',
      valueName: 'OWNER/REPO',
      description: 'repository the workflow must belong to',
    },
    'expect-workflow': {
      type: 'string',
      valueName: 'PATH',
      description: 'workflow file, e.g. .github/workflows/release.yml',
    },
    'expect-ref': {
      type: 'string',
      valueName: 'REGEX',
      description: 'regex the whole workflow ref must match',
    },
    'sigstore-bundle': {
      type: 'string',
      valueName: 'PATH',
      description: 'Sigstore bundle over the provenance statement',
    },
    'trusted-root': { type: 'string', valueName: 'PATH', description: 'pinned Sigstore trusted_root.json' },
  },
  exitCodes: [
    {
      code: ExitCode.REJECTED,
      meaning: 'a check failed; --json lists every check and the first failure code',
    },
  ],
  examples: [
    'clawback bundle verify agent.bundle --trusted-key keys/release-1.pub',
    'clawback bundle verify agent.bundle --trusted-key a.pub --trusted-key b.pub --threshold 2 --provenance agent.bundle.provenance.json --expect-repo acme/agents --expect-workflow .github/workflows/release.yml --expect-ref "refs/tags/v.*" --json',
  ],
  async run(ctx) {
    const path = ctx.requireArg(0);
    const keyRefs = ctx.strings('trusted-key');
    if (keyRefs.length === 0) return usage(ctx, '--trusted-key is required');
    const provenancePath = ctx.string('provenance');
    const sigstorePath = ctx.string('sigstore-bundle');
    const policy = provenancePolicy(ctx);
    if ((provenancePath || sigstorePath) && !policy.repository) {
      return usage(ctx, '--expect-repo is required with --provenance or --sigstore-bundle');
    }
    const provKeys = ctx.strings('provenance-key');
    const { readTrustedKeys, verifyBundleFile } = await signVerifyPkg();
    const opt = (k: string) => ctx.string(k);
    const report = await verifyBundleFile({
      bundlePath: path,
      trustedKeys: await readTrustedKeys(keyRefs, ctx.env),
      threshold: ctx.integer('threshold', { min: 1, max: 100 }) ?? 1,
      now: ctx.now(),
      provenancePolicy: policy,
      ...(opt('signature') ? { signaturePath: opt('signature') as string } : {}),
      ...(provenancePath ? { provenancePath } : {}),
      ...(provKeys.length ? { provenanceKeys: await readTrustedKeys(provKeys, ctx.env) } : {}),
      ...(sigstorePath ? { sigstoreBundlePath: sigstorePath } : {}),
      ...(opt('trusted-root') ? { trustedRootPath: opt('trusted-root') as string } : {}),
    });
    return reportVerification(ctx, path, report, (await verifyPkg()).assertChecks);
  },
};

function provenancePolicy(ctx: CommandContext): ProvenancePolicy {
  const repo = ctx.string('expect-repo');
  const workflow = ctx.string('expect-workflow');
  const ref = ctx.string('expect-ref');
  return {
    ...(repo ? { repository: repo } : {}),
    ...(workflow ? { workflowPath: workflow } : {}),
    ...(ref ? { refPattern: ref } : {}),
  };
}

function reportVerification(
  ctx: CommandContext,
  path: string,
  report: BundleVerificationReport,
  assertChecks: (checks: BundleVerificationReport['checks']) => void,
): number {
  let error: unknown;
  try {
    assertChecks(report.checks);
  } catch (err) {
    error = err;
  }
  const code = error === undefined ? ExitCode.OK : exitCodeFor(error);
  const first = report.checks.find((c) => !c.ok);
  if (ctx.json) {
    ctx.printJson({
      ok: report.ok,
      ...(first?.code ? { code: first.code } : {}),
      bundle: path,
      bundleSha256: report.bundleSha256,
      ...(report.manifest ? { name: report.manifest.name, version: report.manifest.version } : {}),
      checks: report.checks,
    });
    return code;
  }
  ctx.print(
    report.checks
      .map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.message}${c.code && !c.ok ? ` [${c.code}]` : ''}`)
      .join('\n'),
  );
  if (error !== undefined) throw error;
  ctx.print(`verified ${path}${report.bundleSha256 ? ` (sha256 ${report.bundleSha256})` : ''}`);
  return ExitCode.OK;
}

const provenance: CommandSpec = {
  name: 'provenance',
  summary: 'write SLSA v1 provenance for a bundle from the GitHub Actions environment',
  description:
    'Writes FILE.provenance.json: an in-toto Statement v1 (subject = file name and SHA-256) with the GitHub workflow/v1 predicate, DSSE-signed by --key. With --sigstore, also FILE.provenance.sigstore.json signed keyless (OIDC -> Fulcio -> Rekor) over the same statement bytes.',
  args: [{ name: 'FILE', description: 'bundle file' }],
  options: {
    key: {
      type: 'string',
      multiple: true,
      valueName: 'KEY',
      description: 'release private key file or env:VAR',
    },
    out: { type: 'string', valueName: 'PATH', description: 'output (default FILE.provenance.json)' },
    sigstore: { type: 'boolean', description: 'also sign keyless with Sigstore (needs `id-token: write`)' },
    'fulcio-url': {
      type: 'string',
      valueName: 'URL',
      description: 'Fulcio instance (default $CLAWBACK_FULCIO_URL, else public good)',
    },
    'rekor-url': {
      type: 'string',
      valueName: 'URL',
      description: 'Rekor instance (default $CLAWBACK_REKOR_URL, else public good)',
    },
    'tsa-url': {
      type: 'string',
      valueName: 'URL',
      description: 'RFC 3161 timestamp authority (default $CLAWBACK_TSA_URL, else none)',
    },
  },
  exitCodes: [
    { code: ExitCode.ENVIRONMENT, meaning: 'not in GitHub Actions: the missing variables are named' },
  ],
  examples: ['clawback provenance agent.bundle --key env:RELEASE_KEY --sigstore'],
  async run(ctx) {
    const refs = ctx.strings('key');
    if (refs.length === 0) return usage(ctx, '--key is required');
    const signers = [];
    for (const ref of refs) signers.push(await loadSigner(ref, ctx.env));
    const bundlePath = ctx.requireArg(0);
    const { createProvenance, hashBundle } = await signPkg();
    await hashBundle(bundlePath); // a missing bundle is reported before anything else
    const out = ctx.string('out');
    // A private Sigstore instance can be set once for a whole workflow through the environment.
    const fulcio = ctx.string('fulcio-url') ?? ctx.env.CLAWBACK_FULCIO_URL;
    const rekor = ctx.string('rekor-url') ?? ctx.env.CLAWBACK_REKOR_URL;
    const tsa = ctx.string('tsa-url') ?? ctx.env.CLAWBACK_TSA_URL;
    const r = await createProvenance({
      bundlePath,
      signers,
      env: ctx.env,
      ...(out ? { out } : {}),
      ...(ctx.flag('sigstore')
        ? {
            sigstore: {
              env: ctx.env,
              onProgress: (m: string) => ctx.progress(m),
              ...(fulcio ? { fulcioURL: fulcio } : {}),
              ...(rekor ? { rekorURL: rekor } : {}),
              ...(tsa ? { tsaURL: tsa } : {}),
            },
          }
        : {}),
    });
    const builder = r.statement.predicate.runDetails.builder.id;
    ctx.result(
      {
        ok: true,
        provenance: r.provenancePath,
        sigstore: r.sigstorePath,
        bundleSha256: r.bundleSha256,
        builder,
      },
      `${r.provenancePath}: sha256 ${r.bundleSha256}, builder ${builder}${r.sigstorePath ? `\n${r.sigstorePath}: Sigstore bundle` : ''}`,
    );
    return ExitCode.OK;
  },
};

function usage(ctx: CommandContext, message: string): never {
  throw new ClawbackError(CoreErrors.USAGE, message, {
    hint: `See \`clawback ${ctx.command.name} --help\`.`,
  });
}

/** `clawback bundle …` commands and `clawback provenance`. */
export const bundleCommands: CommandSpec[] = [build, sign, inspect, verify, provenance];
