#!/usr/bin/env node
// Helper for test/bench/console.mjs (not a test): runs one server in its own process so the
// load generator and the server do not share a core.
//   node test/bench/console-server.mjs console DATA_DIR ADMIN_TOKEN   (DATABASE_URL: use PostgreSQL)
//   node test/bench/console-server.mjs bare REPLY_JSON_FILE
// Prints {"url": "..."} on stdout once listening; exits on SIGTERM.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { openConsole } from '../../packages/console/dist/index.js';

const [mode, arg, token] = process.argv.slice(2);

if (mode === 'console') {
  const server = await openConsole({
    dataDir: arg,
    adminToken: token,
    sweepIntervalMs: 0,
    alertIntervalMs: 0,
  });
  const { url } = await server.listen(0, '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once('SIGTERM', () => {
    server.close().then(() => process.exit(0));
  });
} else if (mode === 'bare') {
  // The same bytes the console answers a check-in with: 200 with the body and ETag, or 304.
  const reply = JSON.parse(readFileSync(arg, 'utf8'));
  const body = Buffer.from(reply.body);
  const server = createServer((req, res) => {
    if (req.headers['if-none-match'] === reply.etag) {
      res.writeHead(304, { etag: reply.etag });
      res.end();
      return;
    }
    res.writeHead(200, {
      etag: reply.etag,
      'content-type': 'application/json',
      'content-length': body.length,
    });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  process.stderr.write('usage: console-server.mjs console DATA_DIR ADMIN_TOKEN | bare REPLY_JSON_FILE\n');
  process.exit(2);
}
