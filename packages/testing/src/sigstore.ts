// Sigstore test helpers: the real public-good trusted root, a real public bundle, and a mock Sigstore
// (Fulcio + CT log + Rekor + TSA from @sigstore/mock) served on 127.0.0.1 with a trusted root derived from
// its keys, plus a GitHub Actions OIDC token endpoint. Tests never touch the network.
import { createHash, generateKeyPairSync, type KeyPairKeyObjectResult, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from '@sigstore/core';
import {
  fulcioHandler,
  type HandlerFn,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from '@sigstore/mock';

const require = createRequire(import.meta.url);
const PUBLIC_GOOD_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

type Json = Record<string, unknown>;

/**
 * The Sigstore public-good trusted_root.json as shipped (base64, inside the TUF seed) by the `@sigstore/tuf`
 * npm package. This is the same file sigstore-js starts from before any TUF refresh.
 */
export function publicGoodTrustedRoot(): Json {
  const seedsPath = `${packageDir('@sigstore/tuf')}/seeds.json`;
  const seeds = JSON.parse(readFileSync(seedsPath, 'utf8')) as Record<
    string,
    { targets?: Record<string, string> }
  >;
  const encoded = seeds[PUBLIC_GOOD_TUF_MIRROR]?.targets?.['trusted_root.json'];
  if (encoded === undefined)
    throw new Error(`${seedsPath} has no trusted_root.json target for ${PUBLIC_GOOD_TUF_MIRROR}`);
  return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Json;
}

/**
 * A real bundle signed by the public-good instance: GitHub CLI's build provenance (cli/cli, 2024-05-29),
 * shipped as the example attestation in GitHub's REST API description (`@octokit/openapi`). The API
 * description stores the Rekor checkpoint with its newlines escaped twice ("\\n"); undoing that restores
 * the note Rekor signed, which the checkpoint signature then proves.
 */
export function publicGoodExampleBundle(): Json {
  const file = `${packageDir('@octokit/openapi')}/generated/api.github.com.json`;
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Json;
  const example = pick(spec, ['components', 'examples', 'attestation', 'value', 'bundle']) as
    | Json
    | undefined;
  if (example === undefined) throw new Error(`${file} no longer carries the attestation example bundle`);
  const bundle = structuredClone(example);
  const entries = pick(bundle, ['verificationMaterial', 'tlogEntries']) as Json[];
  for (const entry of entries) {
    const checkpoint = pick(entry, ['inclusionProof', 'checkpoint']) as { envelope: string } | undefined;
    if (checkpoint !== undefined) checkpoint.envelope = checkpoint.envelope.replaceAll('\\n', '\n');
  }
  return bundle;
}

/** Claims of a GitHub Actions OIDC token (names as GitHub documents them). */
export interface GithubActionsClaims {
  iss: string;
  aud: string;
  sub: string;
  repository: string;
  repository_id: string;
  repository_owner: string;
  repository_owner_id: string;
  repository_visibility: string;
  ref: string;
  sha: string;
  workflow: string;
  workflow_ref: string;
  workflow_sha: string;
  job_workflow_ref: string;
  job_workflow_sha: string;
  event_name: string;
  run_id: string;
  run_attempt: string;
  runner_environment: string;
  /** What real Fulcio puts in the SAN for GitHub: server_url + "/" + job_workflow_ref (see mock note). */
  fulcio_san: string;
  [claim: string]: string;
}

/** Claims for a release workflow run of `repository` at `ref` (defaults: acme/agents, main). */
export function githubActionsClaims(overrides: Partial<GithubActionsClaims> = {}): GithubActionsClaims {
  const repository = overrides.repository ?? 'acme/agents';
  const ref = overrides.ref ?? 'refs/heads/main';
  const sha = overrides.sha ?? 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3';
  const workflowRef = `${repository}/.github/workflows/release.yml@${ref}`;
  const base: GithubActionsClaims = {
    iss: 'https://token.actions.githubusercontent.com',
    aud: 'sigstore',
    sub: `repo:${repository}:ref:${ref}`,
    repository,
    repository_id: '700100200',
    repository_owner: repository.split('/')[0] ?? repository,
    repository_owner_id: '9001',
    repository_visibility: 'public',
    ref,
    sha,
    workflow: 'release',
    workflow_ref: workflowRef,
    workflow_sha: sha,
    job_workflow_ref: overrides.job_workflow_ref ?? workflowRef,
    job_workflow_sha: sha,
    event_name: 'push',
    run_id: '123456789',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    fulcio_san: '',
  };
  const claims: GithubActionsClaims = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) claims[k] = v;
  claims.fulcio_san = overrides.fulcio_san ?? `https://github.com/${claims.job_workflow_ref}`;
  return claims;
}

/**
 * An OIDC token carrying `claims`. Unsigned: mock Fulcio (like the code under test) only decodes it; real
 * Fulcio verifies the issuer's signature, which is outside what Clawback checks.
 */
export function mockIdentityToken(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'RS256', typ: 'JWT', kid: 'mock' })}.${part({ iat: now, nbf: now, exp: now + 300, ...claims })}.${Buffer.from('mock-signature').toString('base64url')}`;
}

/**
 * The variables GitHub Actions sets in a job whose OIDC token carries `claims` (same repository, ref,
 * commit, workflow, event and run), so provenance built from the environment and the Fulcio certificate
 * issued for the token describe the same run.
 */
export function githubActionsContextEnv(
  claims: GithubActionsClaims,
  serverUrl = 'https://github.com',
): Record<string, string> {
  return {
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: serverUrl,
    GITHUB_REPOSITORY: claims.repository,
    GITHUB_REPOSITORY_ID: claims.repository_id,
    GITHUB_REPOSITORY_OWNER: claims.repository_owner,
    GITHUB_REPOSITORY_OWNER_ID: claims.repository_owner_id,
    GITHUB_WORKFLOW_REF: claims.workflow_ref,
    GITHUB_WORKFLOW_SHA: claims.workflow_sha,
    GITHUB_REF: claims.ref,
    GITHUB_SHA: claims.sha,
    GITHUB_EVENT_NAME: claims.event_name,
    GITHUB_RUN_ID: claims.run_id,
    GITHUB_RUN_ATTEMPT: claims.run_attempt,
    RUNNER_ENVIRONMENT: claims.runner_environment,
  };
}

export interface MockSigstoreOptions {
  /** Clock of the CA: issued certificates are valid from this time for 10 minutes. Default: real time. */
  caClock?: Date;
  /** Clock of Rekor: the integrated time of new entries. Default: real time. */
  tlogClock?: Date;
  /** Clock of the TSA. Default: real time. */
  tsaClock?: Date;
  /** Start of the validity window written into the trusted root. Default: one day ago. */
  validFrom?: Date;
}

export type MockService = 'fulcio' | 'rekor' | 'tsa' | 'oidc';

export interface MockSigstore {
  /** One base URL serves Fulcio, Rekor and the TSA (their API paths do not overlap). */
  url: string;
  fulcioURL: string;
  rekorURL: string;
  tsaURL: string;
  /** trusted_root.json for this instance, built from the mock's CA, CT log, Rekor and TSA keys. */
  trustedRoot: Json;
  /**
   * Environment of a GitHub Actions job with `id-token: write` whose token carries `claims`: the token
   * request variables (pointing at this mock) plus the matching GITHUB_* context.
   */
  actionsEnv(claims: GithubActionsClaims): NodeJS.ProcessEnv;
  /** Audiences asked for at the OIDC endpoint, in order. */
  oidcAudiences: string[];
  /** Make a service answer with this HTTP status (undefined: behave). */
  fail(service: MockService, status: number | undefined): void;
  close(): Promise<void>;
}

const ROUTES: Record<string, Exclude<MockService, 'oidc'>> = {
  '/api/v2/signingCert': 'fulcio',
  '/api/v1/log/entries': 'rekor',
  '/api/v1/timestamp': 'tsa',
};
const OIDC_PATH = '/oidc/token';
const OIDC_REQUEST_TOKEN = 'mock-actions-request-token';

/** Start mock Fulcio/Rekor/TSA and a GitHub Actions OIDC endpoint on 127.0.0.1 (random port). */
export async function startMockSigstore(options: MockSigstoreOptions = {}): Promise<MockSigstore> {
  const failures = new Map<MockService, number>();
  const oidcAudiences: string[] = [];
  const handlers: Partial<Record<Exclude<MockService, 'oidc'>, HandlerFn>> = {};
  const server = createServer((req, res) => {
    serve(req, res, { handlers, failures, oidcAudiences }).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const keys = {
    ca: ecKeyPair(),
    ctlog: ecKeyPair(),
    tlog: ecKeyPair(),
    tsa: ecKeyPair(),
  };
  const ctlog = rfc6962CTLog(await initializeCTLog(keys.ctlog), keys.ctlog, options.caClock);
  const ca = await initializeCA(keys.ca, ctlog, options.caClock);
  const tlog = await initializeTLog(url, keys.tlog, options.tlogClock);
  const tsa = await initializeTSA(keys.tsa, options.tsaClock);
  // Real Fulcio derives the GitHub SAN from job_workflow_ref; the mock copies one claim, so point it at ours.
  handlers.fulcio = fulcioHandler(ca, { subjectClaim: 'fulcio_san' }).fn;
  handlers.rekor = canonicalizingDsse(rekorHandler(tlog).fn);
  handlers.tsa = tsaHandler(tsa).fn;

  const validFrom = (options.validFrom ?? new Date(Date.now() - 24 * 3600_000)).toISOString();
  const trustedRoot = mockTrustedRoot({
    url,
    validFrom,
    caRoot: ca.rootCertificate,
    ctlogKey: ctlog.publicKey,
    ctlogId: ctlog.logID,
    tlogKey: tlog.publicKey,
    tsaChain: [tsa.intCertificate, tsa.rootCertificate],
  });
  return {
    url,
    fulcioURL: url,
    rekorURL: url,
    tsaURL: url,
    trustedRoot,
    oidcAudiences,
    actionsEnv: (claims) => ({
      ...githubActionsContextEnv(claims),
      ACTIONS_ID_TOKEN_REQUEST_URL: `${url}${OIDC_PATH}?api-version=2.0&claims=${encodeURIComponent(
        Buffer.from(mockIdentityToken(claims)).toString('base64url'),
      )}`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: OIDC_REQUEST_TOKEN,
    }),
    fail: (service, status) => {
      if (status === undefined) failures.delete(service);
      else failures.set(service, status);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

interface ServeState {
  handlers: Partial<Record<Exclude<MockService, 'oidc'>, HandlerFn>>;
  failures: Map<MockService, number>;
  oidcAudiences: string[];
}

async function serve(req: IncomingMessage, res: ServerResponse, state: ServeState): Promise<void> {
  const body = await readBody(req);
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (req.method === 'GET' && url.pathname === OIDC_PATH) {
    state.oidcAudiences.push(url.searchParams.get('audience') ?? '');
    const status = state.failures.get('oidc');
    if (status !== undefined) return void res.writeHead(status).end('{}');
    if (req.headers.authorization !== `bearer ${OIDC_REQUEST_TOKEN}`)
      return void res.writeHead(401).end('{}');
    // The token travels in the request URL so one endpoint can serve any claims the test wants.
    const token = Buffer.from(url.searchParams.get('claims') ?? '', 'base64url').toString('utf8');
    return void res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ value: token }));
  }
  const service = req.method === 'POST' ? ROUTES[url.pathname] : undefined;
  const handler = service === undefined ? undefined : state.handlers[service];
  if (service === undefined || handler === undefined) return void res.writeHead(404).end();
  const status = state.failures.get(service);
  if (status !== undefined) {
    return void res
      .writeHead(status, { 'content-type': 'application/json' })
      .end('{"message":"injected failure"}');
  }
  const out = await handler(body);
  res.writeHead(out.statusCode, { 'content-type': out.contentType ?? 'text/plain' }).end(out.response);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

interface TrustedRootParts {
  url: string;
  validFrom: string;
  caRoot: Buffer;
  ctlogKey: Buffer;
  ctlogId: Buffer;
  tlogKey: Buffer;
  tsaChain: Buffer[];
}

/** A trusted_root.json (protobuf-specs JSON) trusting exactly the given mock authorities. */
export function mockTrustedRoot(p: TrustedRootParts): Json {
  const b64 = (b: Buffer) => b.toString('base64');
  const log = (key: Buffer, keyId: Buffer) => ({
    baseUrl: p.url,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: b64(key),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: { start: p.validFrom },
    },
    logId: { keyId: b64(keyId) },
  });
  const authority = (chain: Buffer[], name: string) => ({
    subject: { organization: 'sigstore.mock', commonName: name },
    uri: p.url,
    certChain: { certificates: chain.map((c) => ({ rawBytes: b64(c) })) },
    validFor: { start: p.validFrom },
  });
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    // Rekor's log id is the SHA-256 of its DER public key (the same rule the public-good root follows).
    tlogs: [log(p.tlogKey, createHash('sha256').update(p.tlogKey).digest())],
    certificateAuthorities: [authority([p.caRoot], 'sigstore')],
    ctlogs: [log(p.ctlogKey, p.ctlogId)],
    timestampAuthorities: [authority(p.tsaChain, 'tsa')],
  };
}

/**
 * Real Rekor stores a dsse entry in canonical form (payload and envelope hashes, signature and verifier),
 * not as proposed; @sigstore/mock 0.11 logs the proposal verbatim. Canonicalize first, as Rekor's dsse
 * v0.0.1 type does, so the logged body is what verifiers of real bundles see.
 */
function canonicalizingDsse(handler: HandlerFn): HandlerFn {
  return (body) => {
    const proposed = JSON.parse(body) as Json;
    const content = pick(proposed, ['spec', 'proposedContent']) as
      | { envelope?: string; verifiers?: string[] }
      | undefined;
    if (proposed.kind !== 'dsse' || content?.envelope === undefined) return handler(body);
    const envelope = JSON.parse(content.envelope) as { payload: string; signatures: { sig: string }[] };
    const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const canonical = {
      apiVersion: proposed.apiVersion,
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256(content.envelope) },
        payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')) },
        signatures: envelope.signatures.map((sig, i) => ({
          signature: sig.sig,
          verifier: content.verifiers?.[i],
        })),
      },
    };
    return handler(JSON.stringify(canonical));
  };
}

type MockCTLog = Awaited<ReturnType<typeof initializeCTLog>>;

/**
 * @sigstore/mock 0.11's CT log emits SCTs with an empty signature (its pkijs encoding drops it) and its CA
 * writes the SCT list without the per-SCT length prefix. This CT log signs the SCT itself, per RFC 6962
 * 3.2 (precert_entry over the issuer key hash and the precertificate TBS), and prefixes the serialized SCT
 * with its length so the CA's list encoding comes out as RFC 6962 3.3 requires.
 */
function rfc6962CTLog(mock: MockCTLog, keys: KeyPairKeyObjectResult, clock: Date | undefined): MockCTLog {
  return {
    publicKey: mock.publicKey,
    logID: mock.logID,
    log: async (precert, issuerId) => {
      const tbs = X509Certificate.parse(Buffer.from(precert)).tbsCertificate.toDER();
      const timestamp = Buffer.alloc(8);
      timestamp.writeBigUInt64BE(BigInt((clock ?? new Date()).getTime()));
      const tbsLength = Buffer.alloc(3);
      tbsLength.writeUIntBE(tbs.length, 0, 3);
      const signed = Buffer.concat([
        Buffer.from([0, 0]), // version v1, signature_type certificate_timestamp
        timestamp,
        Buffer.from([0, 1]), // entry_type precert_entry
        Buffer.from(issuerId),
        tbsLength,
        tbs,
        Buffer.from([0, 0]), // no extensions
      ]);
      const signature = sign('sha256', signed, keys.privateKey);
      const sigLength = Buffer.alloc(2);
      sigLength.writeUInt16BE(signature.length);
      const sct = Buffer.concat([
        Buffer.from([0]),
        mock.logID,
        timestamp,
        Buffer.from([0, 0]),
        Buffer.from([4, 3]), // sha256, ecdsa
        sigLength,
        signature,
      ]);
      const sctLength = Buffer.alloc(2);
      sctLength.writeUInt16BE(sct.length);
      const out = Buffer.concat([sctLength, sct]);
      return out.buffer.slice(out.byteOffset, out.byteOffset + out.length);
    },
  };
}

function ecKeyPair(): KeyPairKeyObjectResult {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function packageDir(name: string): string {
  // Resolve through the package's main entry: neither package exports its package.json or data files.
  const main = require.resolve(name);
  const marker = `/node_modules/${name}/`;
  const at = main.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot locate the ${name} package directory from ${main}`);
  return main.slice(0, at + marker.length - 1);
}

function pick(value: unknown, path: string[]): unknown {
  let cur = value;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Json)[key];
  }
  return cur;
}
