import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The resource attributes of a SelfSubjectAccessReview. */
export interface AccessAttributes {
  readonly verb?: string;
  readonly group?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** A running front: its own kubeconfig, and the reviews it answered. */
export interface AccessReviewFront {
  readonly kubeconfigPath: string;
  readonly reviews: AccessAttributes[];
  close(): Promise<void>;
}

const SSAR_PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

/** The length-delimited fields of one protobuf message, by field number (last one wins). */
function protoFields(buf: Buffer): Map<number, Buffer> {
  const fields = new Map<number, Buffer>();
  let i = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = buf[i++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 2) {
      const len = varint();
      fields.set(key >>> 3, buf.subarray(i, i + len));
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else break;
  }
  return fields;
}

/**
 * kubectl posts the review as Kubernetes protobuf: the `k8s\0` magic, then runtime.Unknown whose
 * field 2 is the SelfSubjectAccessReview; its spec (2) holds resourceAttributes (1) with namespace,
 * verb, group, version, resource, subresource and name as fields 1 to 7.
 */
function attributesOf(body: Buffer): AccessAttributes {
  if (body.subarray(0, 4).toString('latin1') !== 'k8s\0') {
    const review = JSON.parse(body.toString('utf8')) as { spec?: { resourceAttributes?: AccessAttributes } };
    return review.spec?.resourceAttributes ?? {};
  }
  const unknown = protoFields(body.subarray(4));
  const review = protoFields(unknown.get(2) ?? Buffer.alloc(0));
  const spec = protoFields(review.get(2) ?? Buffer.alloc(0));
  const attrs = protoFields(spec.get(1) ?? Buffer.alloc(0));
  const names = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'] as const;
  const out: Record<string, string> = {};
  names.forEach((n, index) => {
    const value = attrs.get(index + 1)?.toString('utf8');
    if (value !== undefined && value !== '') out[n] = value;
  });
  return out;
}

/**
 * An HTTP front on 127.0.0.1 that passes every request through to an API server (the double),
 * watches included, and answers SelfSubjectAccessReviews itself from `allowed`: the double has no
 * authorizer, and `kubectl auth can-i` needs one to say no.
 */
export async function startAccessReviewFront(
  upstream: string,
  allowed: (attributes: AccessAttributes) => boolean,
): Promise<AccessReviewFront> {
  const target = new URL(upstream);
  const reviews: AccessAttributes[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && (req.url ?? '').startsWith(SSAR_PATH)) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const attributes = attributesOf(Buffer.concat(chunks));
        reviews.push(attributes);
        const ok = allowed(attributes);
        // kubectl accepts a JSON answer to its protobuf request.
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'SelfSubjectAccessReview',
            apiVersion: 'authorization.k8s.io/v1',
            metadata: {},
            spec: { resourceAttributes: attributes },
            status: ok ? { allowed: true } : { allowed: false, reason: 'denied by the test front' },
          }),
        );
      });
      return;
    }
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'kube-ssar-front-')), 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `  - name: front\n    cluster:\n      server: http://127.0.0.1:${port}`,
      'users:',
      '  - name: front\n    user: {}',
      'contexts:',
      '  - name: front\n    context:\n      cluster: front\n      user: front\n      namespace: default',
      'current-context: front',
      '',
    ].join('\n'),
  );
  return {
    kubeconfigPath,
    reviews,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
