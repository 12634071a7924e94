// Sample agent: turns "name=value" sensor lines on stdin into JSON on stdout.
import { createInterface } from 'node:readline';

export function parseLine(line) {
  const eq = line.indexOf('=');
  if (eq <= 0) return undefined;
  const value = Number(line.slice(eq + 1));
  return Number.isFinite(value) ? { sensor: line.slice(0, eq).trim(), value } : undefined;
}

if (process.argv.includes('--self-test')) {
  process.exit(parseLine('temp=21.5')?.value === 21.5 ? 0 : 1);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const reading = parseLine(line);
  if (reading) process.stdout.write(`${JSON.stringify(reading)}\n`);
});
