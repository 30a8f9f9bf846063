import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeServerCertificate } from '@dreamscape/testkit';
import { FetchHttpClient, HttpTransportError } from '../src/index.js';

/** `/cut` sends its headers and half its body, then drops the connection; `/ok` answers in full. */
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"kind":"Status",');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('whole');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('FetchHttpClient', () => {
  it('reads a whole answer', async () => {
    const res = await new FetchHttpClient().request({ method: 'GET', url: `${base}/ok` });
    expect([res.status, res.text()]).toEqual([200, 'whole']);
  });

  it('reports a connection dropped in the middle of the body as a transport failure, which retries see', async () => {
    const failure = await new FetchHttpClient()
      .request({ method: 'GET', url: `${base}/cut` })
      .then(() => undefined)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HttpTransportError);
    expect((failure as Error).message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/cut failed while reading the answer: /,
    );
  });
});

describe('FetchHttpClient over https with its own trust', () => {
  let secure: HttpsServer;
  let other: HttpsServer;
  let base: string;
  let otherBase: string;
  let ca: string;
  let dir: string;
  const seen: { url: string; authorization: string | undefined; body: string }[] = [];

  const listen = async (server: HttpsServer): Promise<string> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-fetch-tls-'));
    ca = readFileSync(makeServerCertificate(dir), 'utf8');
    const tls = { cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')) };
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          url: `${req.method ?? ''} ${req.url ?? ''}`,
          authorization: req.headers.authorization,
          body: Buffer.concat(chunks).toString(),
        });
        if (req.url === '/elsewhere') res.writeHead(307, { location: `${otherBase}/landed` }).end();
        else if (req.url === '/here') res.writeHead(302, { location: '/landed' }).end();
        else res.writeHead(200, { 'content-type': 'text/plain', 'x-seen': 'yes' }).end('secure answer');
      });
    };
    secure = createHttpsServer(tls, handler);
    other = createHttpsServer(tls, handler);
    base = await listen(secure);
    otherBase = await listen(other);
  });

  afterAll(async () => {
    await Promise.all([
      new Promise((resolve) => secure.close(resolve)),
      new Promise((resolve) => other.close(resolve)),
    ]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts a certificate signed by the CA it is given, and sends the body with its length', async () => {
    seen.length = 0;
    const res = await new FetchHttpClient({ ca }).request({
      method: 'PUT',
      url: `${base}/blob`,
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(Buffer.from('layer bytes')),
    });
    expect([res.status, res.text(), res.headers['x-seen']]).toEqual([200, 'secure answer', 'yes']);
    expect(seen).toEqual([{ url: 'PUT /blob', authorization: undefined, body: 'layer bytes' }]);
  });

  it('refuses that certificate without the CA, with the certificate error as its code', async () => {
    const failure = await new FetchHttpClient()
      .request({ method: 'GET', url: `${base}/x` })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HttpTransportError);
    expect((failure as HttpTransportError).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('skips the check only when a request says so', async () => {
    const res = await new FetchHttpClient().request({ method: 'GET', url: `${base}/x`, verifyTls: false });
    expect(res.text()).toBe('secure answer');
  });

  it('follows redirects: credentials stay with their origin, and an unchecked certificate with its server', async () => {
    seen.length = 0;
    const here = await new FetchHttpClient({ ca }).request({
      method: 'GET',
      url: `${base}/here`,
      headers: { Authorization: 'Basic c2VjcmV0' },
    });
    expect(here.status).toBe(200);
    const away = await new FetchHttpClient({ ca }).request({
      method: 'GET',
      url: `${base}/elsewhere`,
      headers: { Authorization: 'Basic c2VjcmV0' },
    });
    expect(away.status).toBe(200);
    expect(seen.map((s) => [s.url, s.authorization])).toEqual([
      ['GET /here', 'Basic c2VjcmV0'],
      ['GET /landed', 'Basic c2VjcmV0'],
      ['GET /elsewhere', 'Basic c2VjcmV0'],
      ['GET /landed', undefined],
    ]);
    // Without the CA, skipping the check for one server does not skip it where that server points.
    const unchecked = await new FetchHttpClient()
      .request({ method: 'GET', url: `${base}/elsewhere`, verifyTls: false })
      .catch((error: unknown) => error);
    expect((unchecked as HttpTransportError).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
