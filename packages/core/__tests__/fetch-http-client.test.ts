import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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
