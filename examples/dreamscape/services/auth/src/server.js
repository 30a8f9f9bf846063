// The auth service: Sign-in, sessions and tokens.
// Dependency-free on purpose: the image needs nothing but Node.
import { createServer } from 'node:http';

const service = process.env.SERVICE_NAME ?? 'auth';
const port = Number(process.env.PORT ?? 8080);
const started = new Date();

/** What /version reports: the build (baked into the image) and where this copy runs. */
function versionInfo() {
  return {
    service,
    version: process.env.APP_VERSION ?? '0.0.0-dev',
    revision: process.env.APP_REVISION ?? 'unknown',
    image: process.env.IMAGE_REF ?? null,
    color: process.env.DREAMSCAPE_COLOR || null,
    pod: process.env.POD_NAME ?? null,
    node: process.version,
    startedAt: started.toISOString(),
  };
}

/** Routes of this service beyond /health and /version. */
const routes = {
  '/.well-known/jwks.json': () => ({ keys: [] }),
};

function send(res, status, body) {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
  if (path === '/health') return send(res, 200, { status: 'ok', service, mode: 'node' });
  if (path === '/version') return send(res, 200, versionInfo());
  const route = routes[path];
  if (route !== undefined) return send(res, 200, route());
  return send(res, 404, { error: 'not found', path });
});

server.listen(port, () => {
  console.log(JSON.stringify({ level: 'info', msg: 'listening', service, port }));
});

// Kubernetes sends SIGTERM and waits terminationGracePeriodSeconds: finish in-flight requests.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    console.log(JSON.stringify({ level: 'info', msg: 'shutting down', service, signal }));
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 10_000).unref();
  });
}
