/**
 * `clawback repo …`, `clawback release …` and `clawback keys rotate`: thin commands over the
 * TUF repository in @clawback/sign (docs/tuf-repository.md, runbooks/).
 */
import { resolve } from 'node:path';
import {
  ClawbackError,
  type CommandContext,
  type CommandSpec,
  CoreErrors,
  ExitCode,
  loadPublicKey,
} from '@clawback/core';

// Loaded when a command runs, not when the CLI starts (start-up time and memory on small machines).
const signPkg = () => import('@clawback/sign');

const keyOptions = {
  keys: {
    type: 'string',
    valueName: 'DIR',
    description: 'keys directory searched for private *.key files (default: the one recorded at init)',
  },
  key: {
    type: 'string',
    multiple: true,
    valueName: 'REF',
    description: 'extra private key: a file or env:VAR',
  },
} as const;

function signing(ctx: CommandContext) {
  const keysDir = ctx.string('keys');
  const keyRefs = ctx.strings('key');
  return { ...(keysDir ? { keysDir } : {}), keyRefs, env: ctx.env, now: ctx.now() };
}

const init: CommandSpec = {
  name: 'repo init',
  summary: 'create a TUF repository from a key-ceremony directory (see keys-template/)',
  description:
    'Reads DIR/repo.yaml (thresholds, which named keys hold each role, expiry per role) and DIR/<name>.pub; signs root v1 with the root private keys present (or given with --key), then targets, snapshot and timestamp v1. Consistent snapshots.',
  options: {
    ...keyOptions,
    keys: { type: 'string', valueName: 'DIR', description: 'key-ceremony directory with repo.yaml' },
    out: {
      type: 'string',
      valueName: 'REPO',
      description: 'new repository directory (must not exist or be empty)',
    },
    config: { type: 'string', valueName: 'FILE', description: 'config file (default DIR/repo.yaml)' },
  },
  exitCodes: [
    { code: ExitCode.INPUT, meaning: 'repo.yaml invalid (every field listed) or a public key missing' },
    {
      code: ExitCode.ENVIRONMENT,
      meaning: 'a threshold of private keys for some role is not available (TUF_KEY_MISSING)',
    },
    { code: ExitCode.STATE, meaning: 'REPO exists and is not empty' },
  ],
  examples: ['clawback repo init --keys ./keys --out ./tuf-repo'],
  async run(ctx) {
    const sign = await signPkg();
    const keysDir = ctx.requireString('keys');
    const config = ctx.string('config');
    const r = await sign.initRepo({
      keysDir,
      out: ctx.requireString('out'),
      keyRefs: ctx.strings('key'),
      now: ctx.now(),
      env: ctx.env,
      ...(config ? { configPath: config } : {}),
    });
    const lines = Object.entries(r.roles).map(
      ([role, x]) => `  ${role}: ${x.threshold} of ${x.keyids.length} key(s), expires after ${x.expires}`,
    );
    ctx.result({ ok: true, ...r }, [`created ${r.repo} (root v1)`, ...lines].join('\n'));
    return ExitCode.OK;
  },
};

const refresh: CommandSpec = {
  name: 'repo refresh',
  summary: 're-sign timestamp (and snapshot/targets when due) before they expire; cron-safe',
  args: [{ name: 'REPO', description: 'repository directory' }],
  options: {
    ...keyOptions,
    force: { type: 'boolean', description: 're-sign timestamp and snapshot even if not due' },
  },
  exitCodes: [
    {
      code: ExitCode.ENVIRONMENT,
      meaning:
        'a role that is due could not be signed (its key is missing or offline) or root nears expiry; what could be signed was',
    },
  ],
  examples: ['*/30 * * * * clawback repo refresh /srv/tuf-repo --keys /etc/clawback/online-keys'],
  async run(ctx) {
    const sign = await signPkg();
    const r = await sign.refreshRepo({ repo: ctx.requireArg(0), force: ctx.flag('force'), ...signing(ctx) });
    ctx.result(
      { ok: true, ...r },
      r.resigned.length === 0
        ? `nothing due; timestamp v${r.versions.timestamp} expires ${r.expires.timestamp}`
        : `re-signed ${r.resigned.join(', ')}; timestamp v${r.versions.timestamp} expires ${r.expires.timestamp}`,
    );
    return ExitCode.OK;
  },
};

const status: CommandSpec = {
  name: 'repo status',
  summary: 'versions, expiries, keys and thresholds per role, and what expires soonest',
  args: [{ name: 'REPO', description: 'repository directory' }],
  async run(ctx) {
    const sign = await signPkg();
    const s = await sign.repoStatus(ctx.requireArg(0), ctx.now());
    const lines = Object.entries(s.roles).map(([role, r]) => {
      const keys = r.keys.map((k) => k.name ?? k.keyid.slice(0, 12)).join(', ');
      const flag = r.expired ? ' EXPIRED' : r.refreshDue ? ' (refresh due)' : '';
      return `  ${role.padEnd(9)} v${r.version}  expires ${r.expires}${flag}  ${r.threshold} of [${keys}]`;
    });
    ctx.result(
      { ok: true, ...s },
      [
        `${s.repo}: ${s.releases} release(s), ${s.targets} target(s)`,
        ...lines,
        `  soonest: ${s.soonest.role} at ${s.soonest.expires}`,
      ].join('\n'),
    );
    return ExitCode.OK;
  },
};

const trustRoot: CommandSpec = {
  name: 'repo trust-root',
  summary: 'publish a Sigstore trusted_root.json as the target sigstore/trusted_root.json',
  args: [
    { name: 'REPO', description: 'repository directory' },
    { name: 'FILE', description: 'trusted_root.json' },
  ],
  options: keyOptions,
  async run(ctx) {
    const sign = await signPkg();
    const r = await sign.publishTrustRoot({
      repo: ctx.requireArg(0),
      file: ctx.requireArg(1),
      ...signing(ctx),
    });
    ctx.result({ ok: true, ...r }, `published ${r.path} (sha256 ${r.sha256})`);
    return ExitCode.OK;
  },
};

const publish: CommandSpec = {
  name: 'repo publish',
  summary: 'upload the repository to a GitHub Release (token from GITHUB_TOKEN)',
  description:
    'Assets are flat: metadata files by name, targets by their hash-prefixed name. Point devices at https://github.com/OWNER/REPO/releases/download/TAG for both metadata and targets, with flat targets enabled. Any static host can instead serve REPO/metadata and REPO/targets as they are.',
  args: [{ name: 'REPO', description: 'repository directory' }],
  options: {
    github: { type: 'string', valueName: 'OWNER/REPO', description: 'GitHub repository' },
    tag: { type: 'string', valueName: 'TAG', description: 'release tag (created if missing)' },
    'api-url': {
      type: 'string',
      valueName: 'URL',
      description: 'GitHub API base URL (default $GITHUB_API_URL, else api.github.com)',
    },
  },
  exitCodes: [
    { code: ExitCode.ENVIRONMENT, meaning: 'GITHUB_TOKEN missing or GitHub refused (PUBLISH_GITHUB_FAILED)' },
    {
      code: ExitCode.STATE,
      meaning: 'an immutable asset exists with other content (PUBLISH_ASSET_CONFLICT)',
    },
  ],
  examples: ['GITHUB_TOKEN=… clawback repo publish ./tuf-repo --github acme/fleet-updates --tag tuf'],
  async run(ctx) {
    const sign = await signPkg();
    const token = ctx.env.GITHUB_TOKEN;
    if (!token) {
      throw new ClawbackError(CoreErrors.ENV_MISSING, 'GITHUB_TOKEN is not set', {
        hint: 'Export a token with contents:write on the repository (in Actions: secrets.GITHUB_TOKEN).',
      });
    }
    // GITHUB_API_URL is what Actions sets (and what GitHub Enterprise Server needs).
    const apiUrl = ctx.string('api-url') ?? ctx.env.GITHUB_API_URL;
    const octokit = sign.createPublishOctokit({ token, ...(apiUrl ? { baseUrl: apiUrl } : {}) });
    const r = await sign.publishToGithubRelease({
      repo: ctx.requireArg(0),
      github: ctx.requireString('github'),
      tag: ctx.requireString('tag'),
      octokit,
      onProgress: (m) => ctx.progress(m),
    });
    ctx.result(
      { ok: true, ...r },
      `published to ${r.htmlUrl ?? r.downloadBaseUrl}: ${r.uploaded.length} uploaded, ${r.replaced.length} replaced, ${r.skipped.length} already there`,
    );
    return ExitCode.OK;
  },
};

const serve: CommandSpec = {
  name: 'repo serve',
  summary: 'serve the repository over HTTP for a lab or an air-gapped site (Range supported)',
  description:
    'Serves REPO/metadata and REPO/targets as they are on disk (GET and HEAD, single byte ranges so devices can resume), nothing else. Prints the base URL to stdout (devices: metadata_url URL/metadata, targets_url URL/targets) and runs until SIGINT/SIGTERM. Plain HTTP: integrity comes from TUF, but use a TLS-terminating static host for fleets.',
  args: [{ name: 'REPO', description: 'repository directory' }],
  options: {
    port: { type: 'string', valueName: 'N', description: 'TCP port (0 = any free port)', default: '8800' },
    host: { type: 'string', valueName: 'ADDR', description: 'address to bind', default: '127.0.0.1' },
  },
  exitCodes: [
    { code: ExitCode.INPUT, meaning: 'REPO is not a repository (SERVE_NOT_A_REPOSITORY)' },
    { code: ExitCode.ENVIRONMENT, meaning: 'the port could not be opened (SERVE_LISTEN_FAILED)' },
  ],
  examples: ['clawback repo serve ./tuf-repo --port 8800', 'clawback repo serve ./tuf-repo --port 0 --json'],
  async run(ctx) {
    const sign = await signPkg();
    const server = await sign.serveRepository(resolve(ctx.io.cwd, ctx.requireArg(0)), {
      port: ctx.integer('port', { min: 0, max: 65535 }) ?? 8800,
      host: ctx.string('host') ?? '127.0.0.1',
      onRequest: (line) => ctx.progress(line),
    });
    ctx.result({ url: server.url }, `serving on ${server.url}`);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await server.close();
    return ExitCode.OK;
  },
};

const releaseAdd: CommandSpec = {
  name: 'release add',
  summary: 'publish a verified bundle and its attestations as TUF targets on a channel',
  description:
    'The bundle must verify (manifest signature by the release key(s) — by default the targets role keys — every file digest, and provenance/Sigstore when given). Refuses a version already published or revoked, and a version lower than the channel newest unless --allow-downgrade --reason.',
  args: [
    { name: 'REPO', description: 'repository directory' },
    { name: 'BUNDLE', description: 'bundle file (its signature defaults to BUNDLE.sig.json)' },
  ],
  options: {
    ...keyOptions,
    channel: { type: 'string', valueName: 'NAME', description: 'release channel, e.g. stable' },
    signature: {
      type: 'string',
      valueName: 'FILE',
      description: 'detached manifest signature (default BUNDLE.sig.json)',
    },
    provenance: {
      type: 'string',
      valueName: 'FILE',
      description: 'SLSA provenance (DSSE) to verify and publish',
    },
    'sigstore-bundle': {
      type: 'string',
      valueName: 'FILE',
      description: 'Sigstore bundle over the provenance',
    },
    'trusted-root': {
      type: 'string',
      valueName: 'FILE',
      description:
        'Sigstore trusted_root.json to verify it against (default: the one this repository publishes)',
    },
    'trusted-key': {
      type: 'string',
      multiple: true,
      valueName: 'PUB',
      description: 'key trusted to sign manifests (default: the targets role keys)',
    },
    threshold: { type: 'string', valueName: 'N', description: 'distinct manifest signatures required' },
    'allow-downgrade': { type: 'boolean', description: 'allow a version lower than the channel newest' },
    reason: {
      type: 'string',
      valueName: 'TEXT',
      description: 'why (required with --allow-downgrade; signed and audited)',
    },
  },
  exitCodes: [
    { code: ExitCode.REJECTED, meaning: 'the bundle or an attestation does not verify' },
    {
      code: ExitCode.STATE,
      meaning: 'version already published or revoked, or a downgrade without --allow-downgrade --reason',
    },
  ],
  examples: [
    'clawback release add ./tuf-repo sensor-1.4.0.clawback --provenance sensor-1.4.0.clawback.provenance.json --channel stable',
  ],
  async run(ctx) {
    const sign = await signPkg();
    const repo = ctx.requireArg(0);
    const bundle = ctx.requireArg(1);
    const trusted = ctx.strings('trusted-key');
    const fromRepo = await sign.releaseKeysOf(repo);
    const trustedKeys = trusted.length > 0 ? await sign.readTrustedKeys(trusted, ctx.env) : fromRepo.keys;
    const threshold = ctx.integer('threshold', { min: 1 }) ?? (trusted.length > 0 ? 1 : fromRepo.threshold);
    const provenance = ctx.string('provenance');
    const sigstore = ctx.string('sigstore-bundle');
    // Sigstore bundles verify against --trusted-root, or else the trust root this repository publishes.
    const trustedRoot =
      ctx.string('trusted-root') ?? (sigstore ? await sign.publishedTrustRootPath(repo) : undefined);
    const signature = ctx.string('signature');
    const reason = ctx.string('reason');
    const now = ctx.now();
    const verifyBundle = sign.createBundleVerifier({
      trustedKeys,
      threshold,
      now,
      ...(provenance ? { provenancePath: provenance } : {}),
      ...(sigstore ? { sigstoreBundlePath: sigstore } : {}),
      ...(trustedRoot ? { trustedRootPath: trustedRoot } : {}),
    });
    const r = await sign.addRelease({
      repo,
      bundle,
      channel: ctx.requireString('channel'),
      verifyBundle,
      allowDowngrade: ctx.flag('allow-downgrade'),
      ...(reason ? { reason } : {}),
      ...(signature ? { signature } : {}),
      ...(provenance ? { provenance } : {}),
      ...(sigstore ? { sigstoreBundle: sigstore } : {}),
      ...signing(ctx),
    });
    ctx.result(
      { ok: true, ...r },
      `published ${r.name}@${r.version} on ${r.channel} as ${r.targetPath}${r.downgrade ? ` (downgrade: ${r.downgrade.reason})` : ''}`,
    );
    return ExitCode.OK;
  },
};

function parseNameAtVersion(text: string): { name: string; version: string } {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) {
    throw new ClawbackError(CoreErrors.USAGE, `expected NAME@VERSION, got ${JSON.stringify(text)}`, {
      hint: 'Example: com.openclaw.sensor_parser@1.4.0',
    });
  }
  return { name: text.slice(0, at), version: text.slice(at + 1) };
}

const releaseRevoke: CommandSpec = {
  name: 'release revoke',
  summary: 'withdraw a release: removed from targets, added to the signed revocation list',
  args: [
    { name: 'REPO', description: 'repository directory' },
    { name: 'NAME@VERSION', description: 'the release' },
  ],
  options: {
    ...keyOptions,
    reason: { type: 'string', valueName: 'TEXT', description: 'why (signed and audited)' },
  },
  exitCodes: [
    { code: ExitCode.INPUT, meaning: 'no such release (TUF_RELEASE_NOT_FOUND)' },
    { code: ExitCode.STATE, meaning: 'already revoked' },
  ],
  examples: [
    'clawback release revoke ./tuf-repo com.openclaw.sensor_parser@1.4.0 --reason "crash loop on rpi4"',
  ],
  async run(ctx) {
    const sign = await signPkg();
    const { name, version } = parseNameAtVersion(ctx.requireArg(1));
    const r = await sign.revokeRelease({
      repo: ctx.requireArg(0),
      name,
      version,
      reason: ctx.requireString('reason'),
      ...signing(ctx),
    });
    ctx.result({ ok: true, ...r }, `revoked ${r.name}@${r.version}: ${r.reason}`);
    return ExitCode.OK;
  },
};

const releaseList: CommandSpec = {
  name: 'release list',
  summary: 'releases in the repository (and revoked ones)',
  args: [{ name: 'REPO', description: 'repository directory' }],
  options: {
    name: { type: 'string', valueName: 'AGENT', description: 'only this agent' },
    channel: { type: 'string', valueName: 'NAME', description: 'only this channel' },
  },
  async run(ctx) {
    const sign = await signPkg();
    const name = ctx.string('name');
    const channel = ctx.string('channel');
    const all = await sign.listReleases(ctx.requireArg(0));
    const releases = all.releases.filter(
      (r) => (!name || r.name === name) && (!channel || r.channel === channel),
    );
    const revoked = all.revoked.filter((r) => !name || r.name === name);
    const lines = [
      ...releases.map(
        (r) =>
          `${r.name}@${r.version}  ${r.channel}  ${r.publishedAt}${r.downgrade ? `  downgrade: ${r.downgrade.reason}` : ''}`,
      ),
      ...revoked.map((r) => `${r.name}@${r.version}  REVOKED ${r.revokedAt}: ${r.reason}`),
    ];
    ctx.result({ ok: true, releases, revoked }, lines.length ? lines.join('\n') : 'no releases');
    return ExitCode.OK;
  },
};

const keysRotate: CommandSpec = {
  name: 'keys rotate',
  summary: 'rotate the keys of a TUF role: a new root signed by a threshold of the old AND the new root keys',
  description:
    'Writes root N+1 with the role’s keys changed and re-signs the affected role(s) with the new keys in the same step, so metadata signed by a removed key is refused by every device that takes the new root. Follow runbooks/key-rotation.md.',
  args: [{ name: 'REPO', description: 'repository directory' }],
  options: {
    ...keyOptions,
    role: { type: 'string', valueName: 'ROLE', description: 'root | targets | snapshot | timestamp' },
    add: { type: 'string', multiple: true, valueName: 'PUB', description: 'public key file to add' },
    remove: {
      type: 'string',
      multiple: true,
      valueName: 'KEY',
      description: 'key to remove (retired or compromised): key id, key name, or its .pub file',
    },
    threshold: { type: 'string', valueName: 'N', description: 'new threshold for the role' },
    'root-key': {
      type: 'string',
      multiple: true,
      valueName: 'REF',
      description: 'private root key (file or env:VAR) signing the new root; old and new root keys',
    },
  },
  exitCodes: [
    {
      code: ExitCode.USAGE,
      meaning: 'the rotation is invalid (unknown key id, threshold larger than the keys)',
    },
    {
      code: ExitCode.ENVIRONMENT,
      meaning: 'not enough old or new root keys, or the new role key, available',
    },
  ],
  examples: [
    'clawback keys rotate ./tuf-repo --role timestamp --add keys/online-2.pub --remove 5f2c… --root-key /media/root-2.key --root-key /media/root-3.key',
  ],
  async run(ctx) {
    const sign = await signPkg();
    const role = ctx.requireString('role');
    if (!sign.isTopRole(role)) {
      throw new ClawbackError(
        CoreErrors.USAGE,
        `--role must be root, targets, snapshot or timestamp, got ${JSON.stringify(role)}`,
      );
    }
    const add = [];
    for (const ref of ctx.strings('add')) {
      const base = ref.split(/[\\/]/).at(-1) ?? ref;
      add.push({ key: await loadPublicKey(ref, ctx.env), name: base.replace(/\.pub$/, '') });
    }
    const threshold = ctx.integer('threshold', { min: 1 });
    const r = await sign.rotateKeys({
      repo: ctx.requireArg(0),
      role,
      add,
      remove: await Promise.all(ctx.strings('remove').map((r) => removeRef(r, ctx.env))),
      rootKeyRefs: ctx.strings('root-key'),
      ...(threshold === undefined ? {} : { threshold }),
      ...signing(ctx),
    });
    ctx.result(
      { ok: true, ...r },
      `root v${r.rootVersion}: ${role} now ${r.threshold} of ${r.keyids.length} key(s); re-signed ${r.resigned.join(', ')}`,
    );
    return ExitCode.OK;
  },
};

/** `--remove` takes a key id, a key name, or a public key file (its key id is used). */
async function removeRef(ref: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (!/\.(pub|json|pem)$/.test(ref)) return ref;
  return (await loadPublicKey(ref, env)).keyid;
}

/** All TUF repository commands (this file is their single home, including `keys rotate`). */
export const repoCommands: CommandSpec[] = [
  init,
  refresh,
  status,
  trustRoot,
  publish,
  serve,
  releaseAdd,
  releaseRevoke,
  releaseList,
  keysRotate,
];
