// Sample agent: parsing of "name=value" sensor lines (used by agent.js), and its self-test.

export function parseLine(line) {
  const eq = line.indexOf('=');
  if (eq <= 0) return undefined;
  const value = Number(line.slice(eq + 1));
  return Number.isFinite(value) ? { sensor: line.slice(0, eq).trim(), value } : undefined;
}

if (process.argv.includes('--self-test')) {
  process.exit(parseLine('temp=21.5')?.value === 21.5 ? 0 : 1);
}
