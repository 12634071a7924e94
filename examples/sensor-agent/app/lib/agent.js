// Sample agent daemon: parses "name=value" sensor lines from stdin into JSON on stdout, keeps
// a cache of recent frames, touches a heartbeat file and serves GET /healthz, so the device
// updater's health checks (process, heartbeat, http, memory and CPU ceilings) have a real
// program to watch.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseLine } from './parser.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const settings = JSON.parse(readFileSync(join(appDir, 'config', 'settings.json'), 'utf8'));
const heartbeatFile = process.env.HEARTBEAT ?? join(appDir, 'run', 'heartbeat');
const heartbeatMs = Number(process.env.HEARTBEAT_INTERVAL_SECS ?? 1) * 1000;
const port = Number(process.env.HEALTH_PORT ?? settings.health_port ?? 8787);

// Recent frames live in a ring buffer allocated once at start; filled so its pages are resident.
const frameCache = Buffer.alloc(Math.max(1, settings.frame_cache_mb ?? 1) * 1024 * 1024, 0x5a);
let cursor = 0;
let readings = 0;

function beat() {
  mkdirSync(dirname(heartbeatFile), { recursive: true });
  writeFileSync(heartbeatFile, `${new Date().toISOString()}\n`);
}
beat();
setInterval(beat, heartbeatMs);

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', readings, frameCacheMb: frameCache.length / 1048576 }));
    return;
  }
  res.writeHead(404).end();
});
server.listen(port, '127.0.0.1');

createInterface({ input: process.stdin }).on('line', (line) => {
  const reading = parseLine(line);
  if (!reading) return;
  readings += 1;
  const frame = Buffer.from(`${JSON.stringify(reading)}\n`);
  if (cursor + frame.length > frameCache.length) cursor = 0;
  cursor += frame.copy(frameCache, cursor);
  process.stdout.write(frame);
});

process.on('SIGTERM', () => process.exit(0));
