import type { AuditEntry } from '@clawback/core';
import { AUDIT_GENESIS, sealEntry, verifyAuditChain } from '@clawback/core';
import { describe, expect, it } from 'vitest';
import { auditToCsv, csvField, filterEntries, nameAuditProblems } from './audit-report.js';
import { summarizeAudit } from './audit-summary.js';

function chain(datas: { kind?: string; ts: string; data: Record<string, unknown> }[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (const d of datas) {
    const prev = out.at(-1);
    out.push(
      sealEntry({
        v: 1,
        seq: out.length + 1,
        ts: d.ts,
        kind: d.kind ?? 'policy.decision',
        data: d.data,
        prev: prev?.hash ?? AUDIT_GENESIS,
      }),
    );
  }
  return out;
}

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const decision = (action: string, value: string, dec: string, h = H1) => ({
  action,
  target: { field: 'path', value },
  decision: dec,
  ruleIndex: dec === 'allow' ? 0 : 2,
  reason: 'r',
  policySha256: h,
});

describe('csv', () => {
  it('quotes per RFC 4180', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' edge')).toBe('" edge"');
  });

  it('exports a header and one row per entry with decision columns', () => {
    const entries = chain([
      { ts: '2026-01-01T00:00:00Z', data: decision('shell.execute', 'echo "a, b"\nrm', 'deny') },
      { kind: 'updater.commit', ts: '2026-01-01T00:00:01Z', data: { version: '1.2.0' } },
    ]);
    const csv = auditToCsv(entries);
    const rows = csv.split('\r\n');
    expect(rows[0]).toBe('seq,ts,kind,actor,action,target,decision,rule_index,policy_sha256,data,prev,hash');
    expect(rows[1]).toContain('shell.execute,"echo ""a, b""\nrm",deny,2,');
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(rows[2]?.startsWith('2,2026-01-01T00:00:01Z,updater.commit,,,,,,,')).toBe(true);
  });
});

describe('summary', () => {
  const entries = chain([
    { ts: '2026-01-01T00:00:00Z', data: decision('file.read', 'src/a', 'allow') },
    { ts: '2026-02-01T00:00:00Z', data: decision('shell.execute', 'sudo ls', 'deny') },
    { ts: '2026-02-02T00:00:00Z', data: decision('shell.execute', 'sudo ls', 'deny', H2) },
    { ts: '2026-02-03T00:00:00Z', data: decision('file.write', 'src/a', 'deny', H2) },
    { kind: 'audit.rotated', ts: '2026-02-04T00:00:00Z', data: {} },
    { ts: '2026-02-05T00:00:00Z', data: decision('file.read', 'src/b', 'allow') },
  ]);

  it('counts kinds, ratios, top denied actions and drift against the expected hash', () => {
    const s = summarizeAudit(entries, { expectedPolicyHash: H1 });
    expect(s.entries).toBe(6);
    expect(s.byKind).toEqual({ 'policy.decision': 5, 'audit.rotated': 1 });
    expect(s.decisions).toEqual({ total: 5, allow: 2, deny: 3, allowRatio: 0.4, denyRatio: 0.6 });
    expect(s.topDeniedActions).toEqual([
      { action: 'shell.execute', count: 2 },
      { action: 'file.write', count: 1 },
    ]);
    expect(s.topDeniedTargets[0]).toEqual({ action: 'shell.execute', target: 'sudo ls', count: 2 });
    expect(s.drift).toMatchObject({ expected: H1, expectedSource: 'given', decisions: 2 });
    expect(s.drift.hashes).toEqual([
      { sha256: H2, decisions: 2, firstTs: '2026-02-02T00:00:00Z', lastTs: '2026-02-03T00:00:00Z' },
    ]);
  });

  it('without an expected hash, drift is measured against the latest policy', () => {
    const s = summarizeAudit(entries);
    expect(s.drift).toMatchObject({ expected: H1, expectedSource: 'latest', decisions: 2 });
  });

  it('filters a period', () => {
    const f = filterEntries(entries, {
      since: new Date('2026-02-01T00:00:00Z'),
      until: new Date('2026-02-02T12:00:00Z'),
    });
    expect(f.map((e) => e.seq)).toEqual([2, 3]);
    expect(filterEntries(entries, { kinds: ['audit.rotated'] }).map((e) => e.seq)).toEqual([5]);
    expect(summarizeAudit([]).decisions.allowRatio).toBeNull();
  });
});

describe('naming problems', () => {
  const entries = chain(
    Array.from({ length: 5 }, (_, i) => ({ ts: `2026-01-01T00:00:0${i}Z`, data: { i } })),
  );
  const text = (es: AuditEntry[]) => `${es.map((e) => JSON.stringify(e)).join('\n')}\n`;

  it('a swap is named reordered, without a false "deleted"', () => {
    const swapped = [entries[0], entries[2], entries[1], entries[3], entries[4]] as AuditEntry[];
    const files = [{ name: 'audit.log', text: text(swapped) }];
    const raw = verifyAuditChain({ files });
    expect(raw.problems.map((p) => p.code)).not.toContain('ENTRY_MISSING'); // core drops gaps that are reordering
    const v = nameAuditProblems(raw, files);
    expect(v.tampering).toEqual(['reordered']);
  });

  it('a real deletion stays "deleted"', () => {
    const files = [
      { name: 'audit.log', text: text([entries[0], entries[1], entries[3], entries[4]] as AuditEntry[]) },
    ];
    expect(nameAuditProblems(verifyAuditChain({ files }), files).tampering).toEqual(['deleted']);
  });

  it('can require a checkpoint and a complete chain', () => {
    const files = [{ name: 'audit.log', text: text(entries.slice(2)) }];
    const report = verifyAuditChain({ files });
    expect(nameAuditProblems(report, files).ok).toBe(true);
    const strict = nameAuditProblems(report, files, { requireCheckpoint: true, requireComplete: true });
    expect(strict.tampering).toEqual(['checkpoint', 'incomplete']);
    expect(strict.problems.map((p) => p.code)).toEqual(['CHECKPOINT_REQUIRED', 'LOG_INCOMPLETE']);
  });
});
