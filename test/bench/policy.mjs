#!/usr/bin/env node
// Policy evaluation throughput (not a test): decisions per second for a generated
// 200-rule policy, next to a naive baseline that compiles every glob on every call
// and walks all rules linearly. Run after `npm run build`:
//   node test/bench/policy.mjs [--seconds 2]
import { performance } from 'node:perf_hooks';
import picomatch from 'picomatch';
import { evaluate, loadPolicy } from '../../packages/policy/dist/index.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 1.5;

// A realistic 200-rule policy: per-directory file rules, command allow/deny lists,
// API endpoints and env names, ending with the catch-all deny.
function generatePolicy(n = 200) {
  const rules = [];
  for (let i = 0; rules.length < n - 1; i++) {
    switch (i % 5) {
      case 0:
        rules.push({ action: 'file.read', path: `projects/p${i}/**`, effect: 'allow' });
        break;
      case 1:
        rules.push({ action: 'file.*', path: `projects/p${i - 1}/**/*.{pem,key}`, effect: 'deny' });
        break;
      case 2:
        rules.push({ action: 'shell.execute', command: `tool${i} *`, effect: i % 2 ? 'deny' : 'allow' });
        break;
      case 3:
        rules.push({ action: 'network.http', url: `https://api${i}.example.com/v1/**`, effect: 'allow' });
        break;
      case 4:
        rules.push({ action: 'env.read', name: `APP${i}_*`, effect: 'allow' });
        break;
    }
  }
  const body = rules
    .map((r) => {
      const cond = ['path', 'command', 'url', 'name']
        .filter((f) => r[f])
        .map((f) => `, ${f}: ${JSON.stringify(r[f])}`);
      return `  - {action: ${JSON.stringify(r.action)}${cond.join('')}, effect: ${r.effect}, reason: "rule ${r.action}"}`;
    })
    .join('\n');
  return {
    text: `version: "1.0"\nrules:\n${body}\n  - {action: "*", effect: deny, reason: default}\n`,
    rules,
  };
}

const { text, rules } = generatePolicy();
const policy = loadPolicy(text);

// Requests that hit rules early, in the middle, late, and nothing (catch-all).
const requests = [
  { action: 'file.read', path: 'projects/p0/src/index.ts' },
  { action: 'file.read', path: 'projects/p100/a/b/c.ts' },
  { action: 'file.read', path: 'projects/p195/deep/tls/server.key' },
  { action: 'file.read', path: 'elsewhere/x' },
  { action: 'shell.execute', command: 'tool102 --flag value' },
  { action: 'shell.execute', command: 'ls -la /tmp' },
  { action: 'network.http', url: 'https://api188.example.com/v1/items/7' },
  { action: 'network.http', url: 'https://evil.example.net/' },
  { action: 'env.read', name: 'APP99_TOKEN' },
];

// Naive baseline: linear over every rule, each glob compiled on every call.
function naiveGlobToRegExp(glob) {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}
function naiveEvaluate(req) {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    const ns = r.action.endsWith('.*') ? r.action.slice(0, -1) : null;
    if (!(r.action === req.action || (ns && req.action.startsWith(ns)))) continue;
    let ok = true;
    if (r.path) ok = req.path !== undefined && picomatch(r.path, { dot: true })(req.path);
    if (r.command)
      ok =
        req.command !== undefined &&
        naiveGlobToRegExp(r.command).test(req.command.trim().replace(/\s+/g, ' '));
    if (r.url) ok = req.url !== undefined && naiveGlobToRegExp(r.url).test(req.url);
    if (r.name) ok = req.name !== undefined && naiveGlobToRegExp(r.name).test(req.name);
    if (ok) return { decision: r.effect, ruleIndex: i };
  }
  return { decision: 'deny', ruleIndex: rules.length };
}

// Both must agree before their speeds are compared.
for (const req of requests) {
  const a = evaluate(policy, req);
  const b = naiveEvaluate(req);
  if (a.decision !== b.decision || a.ruleIndex !== b.ruleIndex) {
    console.error('engines disagree on', req, a, b);
    process.exit(1);
  }
}

function measure(fn) {
  for (let i = 0; i < 2000; i++) fn(requests[i % requests.length]);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  let now = performance.now();
  const start = now;
  while (now < end) {
    for (let i = 0; i < 1000; i++) fn(requests[(n + i) % requests.length]);
    n += 1000;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

const compiled = measure((r) => evaluate(policy, r));
const naive = measure(naiveEvaluate);
const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(12);
console.log(`policy: ${rules.length + 1} rules, ${requests.length} request shapes, Node ${process.version}`);
console.log(`@clawback/policy evaluate (compiled once) ${fmt(compiled)} decisions/s`);
console.log(`naive (compile per call, linear)          ${fmt(naive)} decisions/s`);
console.log(`ratio                                     ${(compiled / naive).toFixed(1).padStart(12)}x`);
