import { ClawbackError, INTOTO_PAYLOAD_TYPE, parseStatement, redact } from '@clawback/core';
import { type SigstoreBundleJson, sigstoreBundleToJson } from '@clawback/verify';
import {
  DSSEBundleBuilder,
  FulcioSigner,
  type IdentityProvider,
  InternalError,
  RekorWitness,
  TSAWitness,
  type Witness,
} from '@sigstore/sign';
import { SigstoreSignErrors as E } from './errors.js';
import { getIdentityToken, type IdentityTokenOptions } from './oidc.js';

/** The Sigstore public-good instance (what actions/attest-build-provenance uses for public repositories). */
export const SIGSTORE_PUBLIC_GOOD = {
  fulcioURL: 'https://fulcio.sigstore.dev',
  rekorURL: 'https://rekor.sigstore.dev',
  tsaURL: 'https://timestamp.sigstore.dev',
} as const;

export interface KeylessOptions extends IdentityTokenOptions {
  /** Fulcio base URL; default public good. */
  fulcioURL?: string;
  /** Rekor base URL; default public good. */
  rekorURL?: string;
  /** RFC 3161 timestamp authority base URL; no TSA timestamp unless given (as actions/attest on public good). */
  tsaURL?: string;
  /** Upload to Rekor; default true. Without it, a TSA is required so the signing time is proven. */
  tlogUpload?: boolean;
  /** DSSE payloadType; default the in-toto one. */
  payloadType?: string;
  /** Per-request timeout for Fulcio / Rekor / TSA in milliseconds; default 10 000. */
  timeoutMs?: number;
  /** Retries per Sigstore request (done by @sigstore/sign on 5xx, 408, 429); default 3. */
  retries?: number;
  /** Progress lines (for stderr). Never contain the token. */
  onProgress?: (message: string) => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRIES = 3;

/**
 * Sign an in-toto statement keyless: OIDC token -> Fulcio certificate for an ephemeral key -> DSSE
 * signature -> Rekor entry (dsse kind) and optional TSA timestamp -> Sigstore bundle v0.3 JSON.
 * The same construction as actions/attest-build-provenance, so `gh attestation verify` and cosign accept it.
 */
export async function signStatementKeyless(
  statementBytes: Uint8Array,
  options: KeylessOptions = {},
): Promise<SigstoreBundleJson> {
  // Refuse to put anything but a well-formed statement into a public transparency log.
  parseStatement(statementBytes);
  const tlogUpload = options.tlogUpload ?? true;
  if (!tlogUpload && options.tsaURL === undefined) {
    throw new ClawbackError(
      E.SIGSTORE_SIGN_OPTIONS_INVALID,
      'keyless signing needs a transparency log or a timestamp authority',
      {
        hint: 'keep the Rekor upload on, or give tsaURL',
      },
    );
  }
  const progress = options.onProgress ?? (() => {});
  progress('sigstore: obtaining an OIDC identity token');
  const token = await getIdentityToken(options);
  const identityProvider: IdentityProvider = { getToken: () => Promise.resolve(token) };
  const fetchOptions = {
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: options.retries ?? DEFAULT_RETRIES,
  };
  const fulcioURL = options.fulcioURL ?? SIGSTORE_PUBLIC_GOOD.fulcioURL;
  const rekorURL = options.rekorURL ?? SIGSTORE_PUBLIC_GOOD.rekorURL;

  const witnesses: Witness[] = [];
  if (tlogUpload)
    witnesses.push(new RekorWitness({ rekorBaseURL: rekorURL, entryType: 'dsse', ...fetchOptions }));
  if (options.tsaURL !== undefined)
    witnesses.push(new TSAWitness({ tsaBaseURL: options.tsaURL, ...fetchOptions }));
  const builder = new DSSEBundleBuilder({
    signer: new FulcioSigner({ identityProvider, fulcioBaseURL: fulcioURL, ...fetchOptions }),
    witnesses,
  });

  progress(`sigstore: certificate from ${fulcioURL}${tlogUpload ? `, log entry at ${rekorURL}` : ''}`);
  try {
    const bundle = await builder.create({
      data: Buffer.from(statementBytes),
      type: options.payloadType ?? INTOTO_PAYLOAD_TYPE,
    });
    progress('sigstore: bundle signed');
    return sigstoreBundleToJson(bundle);
  } catch (err) {
    throw translateSignError(err, { fulcioURL, rekorURL, tsaURL: options.tsaURL });
  }
}

function translateSignError(
  err: unknown,
  urls: { fulcioURL: string; rekorURL: string; tsaURL: string | undefined },
) {
  const detail = redact(describe(err));
  if (err instanceof InternalError) {
    switch (err.code) {
      case 'CA_CREATE_SIGNING_CERTIFICATE_ERROR':
        return new ClawbackError(
          E.SIGSTORE_FULCIO_FAILED,
          `Fulcio at ${urls.fulcioURL} refused or failed: ${detail}`,
          {
            hint: 'check the OIDC token audience is `sigstore` and the Fulcio URL is right; retry if the service is down',
          },
        );
      case 'TLOG_CREATE_ENTRY_ERROR':
      case 'TLOG_FETCH_ENTRY_ERROR':
        return new ClawbackError(E.SIGSTORE_REKOR_FAILED, `Rekor at ${urls.rekorURL} failed: ${detail}`, {
          hint: 'retry; check https://status.sigstore.dev for the public-good instance',
        });
      case 'TSA_CREATE_TIMESTAMP_ERROR':
        return new ClawbackError(
          E.SIGSTORE_TSA_FAILED,
          `timestamp authority at ${urls.tsaURL} failed: ${detail}`,
          {
            hint: 'retry, or check the TSA URL',
          },
        );
      case 'IDENTITY_TOKEN_READ_ERROR':
      case 'IDENTITY_TOKEN_PARSE_ERROR':
        return new ClawbackError(E.SIGSTORE_OIDC_TOKEN_INVALID, 'the OIDC identity token could not be used');
    }
  }
  return new ClawbackError(E.SIGSTORE_SIGN_FAILED, `Sigstore keyless signing failed: ${detail}`, {
    hint: 'retry; if it persists, rerun with CLAWBACK_DEBUG=1 and report it',
  });
}

// @sigstore/sign wraps HTTP failures: keep the outer message and the HTTP status of the cause, nothing else
// (response bodies can echo request content).
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause as { statusCode?: unknown; message?: unknown } | undefined;
  const status = typeof cause?.statusCode === 'number' ? ` (HTTP ${cause.statusCode})` : '';
  return `${err.message}${status}`;
}
