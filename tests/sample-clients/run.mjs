// The original sample's three clients (client/shared of subeshb1/aws-gen-ai-lambda-deployment
// at e1208391, MIT, ./LICENSE), copied unmodified, against an app's origin served on loopback
// (`make dev`, or the stage twin `make dev STAGE=<stage>`): each strategy the origin's
// /config.json lists answers the sample's request through the sample's own client, so the
// protocol keeps the shapes those clients read (PROTOCOL.md).
//
//   node run.mjs http://127.0.0.1:<port> <project>/client/web/package.json
//
// The clients speak https:// and wss:// only, as behind CloudFront. A TLS front on loopback
// passes each request and upgrade to the origin; its certificate is made here (openssl) and
// trusted by the clients' process alone (NODE_EXTRA_CA_CERTS). Node 22 (global WebSocket,
// EventSource behind --experimental-eventsource). Every wait has a limit.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [originUrl, typescriptFrom] = process.argv.slice(2);
if (!originUrl || !typescriptFrom) {
  console.error('usage: node run.mjs http://127.0.0.1:<port> <project>/client/web/package.json');
  process.exit(2);
}
const origin = new URL(originUrl);
const here = path.dirname(new URL(import.meta.url).pathname);

// The strategies the app serves, as its web app reads them.
const config = await (await fetch(new URL('/config.json', origin), { signal: AbortSignal.timeout(10_000) })).json();
const SAMPLE = ['websocket', 'sse', 'rest'];
const keys = SAMPLE.filter((key) => key in config.strategies);
if (keys.length === 0) {
  console.log(`the origin serves none of the sample's strategies (${SAMPLE.join(', ')}): nothing to run`);
  process.exit(0);
}

const dir = mkdtempSync(path.join(tmpdir(), 'sample-clients-'));
const [key, cert] = ['key.pem', 'cert.pem'].map((f) => path.join(dir, f));
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert,
], { stdio: 'ignore', timeout: 30_000 });

const front = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
  const upstream = http.request(
    { host: origin.hostname, port: origin.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (error) => res.destroy(error));
  req.pipe(upstream);
});
front.on('upgrade', (req, socket, head) => {
  const upstream = net.connect(Number(origin.port), origin.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    upstream.write(head);
    socket.pipe(upstream).pipe(socket);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});
await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
const { port } = front.address();

const child = spawn(
  process.execPath,
  ['--no-warnings', '--experimental-eventsource', '--import', './register.mjs', 'clients.mjs', `localhost:${port}`, keys.join(',')],
  { cwd: here, stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: cert, TYPESCRIPT_FROM: typescriptFrom } },
);
const killer = setTimeout(() => {
  console.log("[FAIL] the sample's clients did not finish within 4 minutes");
  child.kill('SIGKILL');
}, 240_000);
const code = await new Promise((resolve) => child.on('exit', (status) => resolve(status ?? 1)));
clearTimeout(killer);
front.closeAllConnections();
front.close();
rmSync(dir, { recursive: true, force: true });
process.exit(code);
