/**
 * Secrets must never reach logs, errors or evidence (house style 14). This
 * scrubs the token shapes we handle: GitHub tokens, bearer headers, PEM private
 * keys, private key JSON, and signed URL query strings.
 */
const PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]'],
  [/"private"\s*:\s*"[0-9a-fA-F]+"/g, '"private":"[REDACTED]"'],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,})\b/g, '[REDACTED TOKEN]'],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, '[REDACTED TOKEN]'],
  [/\b(authorization\s*[:=]\s*)(bearer|token|basic)\s+[^\s"',]+/gi, '$1$2 [REDACTED]'],
  [/\b(bearer)\s+[A-Za-z0-9._~+/=-]{16,}/gi, '$1 [REDACTED]'],
  [/([?&](?:X-Amz-Signature|X-Amz-Credential|sig|signature|token|access_token)=)[^&\s"']+/gi, '$1[REDACTED]'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g, '[REDACTED JWT]'],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/** Deep-redact string values of a JSON-like value. */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        /token|secret|password|private_?key/i.test(k) && typeof v === 'string'
          ? '[REDACTED]'
          : redactValue(v);
    }
    return out as T;
  }
  return value;
}
