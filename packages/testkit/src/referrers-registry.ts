import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for an OCI 1.1 registry with the referrers API, on 127.0.0.1, open to everyone and
 * kept in memory. It is a boundary stand-in, not a registry: the Debian `docker-registry` (2.8)
 * that {@link startRegistry} runs has no referrers API, so this implements just enough of the
 * distribution API to exercise a client's referrers path: monolithic blob uploads, blob HEAD/GET,
 * manifest PUT/GET/HEAD by tag and digest (with `OCI-Subject` on the PUT of a manifest that has a
 * `subject`) and `GET /v2/<name>/referrers/<digest>` built from the stored manifests' `subject`.
 * It checks digests and nothing else (no manifest validation, no auth, no chunked uploads).
 */

/** A running {@link startReferrersRegistry}. */
export interface RunningReferrersRegistry {
  /** `127.0.0.1:PORT`, as it appears in image references. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Every request, as `METHOD /path?query`, in order. */
  readonly requests: readonly string[];
  /** The tags of a repository. */
  tags(repository: string): string[];
  /** Replaces a stored blob's bytes without changing its digest, to test digest checks. */
  tamperBlob(repository: string, digest: string, bytes: Uint8Array): void;
  close(): Promise<void>;
}

interface Repository {
  readonly blobs: Map<string, Buffer>;
  readonly manifests: Map<string, { readonly mediaType: string; readonly body: Buffer }>;
  readonly tags: Map<string, string>;
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Starts the stand-in on a free loopback port. */
export async function startReferrersRegistry(): Promise<RunningReferrersRegistry> {
  const repositories = new Map<string, Repository>();
  const uploads = new Map<string, string>();
  const requests: string[] = [];
  const repo = (name: string): Repository => {
    let r = repositories.get(name);
    if (r === undefined) {
      r = { blobs: new Map(), manifests: new Map(), tags: new Map() };
      repositories.set(name, r);
    }
    return r;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (error) {
        send(res, 500, { errors: [{ code: 'UNKNOWN', message: String(error) }] });
      }
    });
  });

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    if (path === '/v2/' || path === '/v2') {
      send(res, 200, {});
      return;
    }
    let m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path);
    if (m !== null) {
      const [, name = '', id = ''] = m;
      if (method === 'POST' && id === '') {
        const uuid = randomUUID();
        uploads.set(uuid, name);
        res.setHeader('Location', `/v2/${name}/blobs/uploads/${uuid}`);
        {
          send(res, 202, undefined);
          return;
        }
      }
      if (method === 'PUT' && uploads.get(id) === name) {
        const digest = url.searchParams.get('digest') ?? '';
        if (digestOf(body) !== digest) {
          send(res, 400, error('DIGEST_INVALID', 'digest does not match'));
          return;
        }
        uploads.delete(id);
        repo(name).blobs.set(digest, body);
        res.setHeader('Location', `/v2/${name}/blobs/${digest}`);
        res.setHeader('Docker-Content-Digest', digest);
        {
          send(res, 201, undefined);
          return;
        }
      }
      {
        send(res, 404, error('BLOB_UPLOAD_UNKNOWN', 'upload unknown'));
        return;
      }
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (m !== null) {
      const [, name = '', digest = ''] = m;
      const blob = repositories.get(name)?.blobs.get(digest);
      if (blob === undefined) {
        send(res, 404, error('BLOB_UNKNOWN', 'blob unknown'));
        return;
      }
      res.setHeader('Docker-Content-Digest', digest);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(blob.length));
      res.writeHead(200);
      res.end(method === 'HEAD' ? undefined : blob);
      return;
    }
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (m !== null) {
      const [, name = '', reference = ''] = m;
      if (method === 'PUT') {
        const digest = digestOf(body);
        if (reference.startsWith('sha256:') && reference !== digest) {
          send(res, 400, error('DIGEST_INVALID', 'digest does not match'));
          return;
        }
        const r = repo(name);
        const mediaType = req.headers['content-type'] ?? '';
        r.manifests.set(digest, { mediaType, body });
        if (!reference.startsWith('sha256:')) r.tags.set(reference, digest);
        const subject = (JSON.parse(body.toString('utf8')) as { subject?: { digest?: unknown } }).subject;
        if (typeof subject?.digest === 'string') res.setHeader('OCI-Subject', subject.digest);
        res.setHeader('Docker-Content-Digest', digest);
        res.setHeader('Location', `/v2/${name}/manifests/${digest}`);
        {
          send(res, 201, undefined);
          return;
        }
      }
      const r = repositories.get(name);
      const digest = reference.startsWith('sha256:') ? reference : r?.tags.get(reference);
      const stored = digest === undefined ? undefined : r?.manifests.get(digest);
      if (digest === undefined || stored === undefined) {
        send(res, 404, error('MANIFEST_UNKNOWN', 'manifest unknown'));
        return;
      }
      res.setHeader('Docker-Content-Digest', digest);
      res.setHeader('Content-Type', stored.mediaType);
      res.setHeader('Content-Length', String(stored.body.length));
      res.writeHead(200);
      res.end(method === 'HEAD' ? undefined : stored.body);
      return;
    }
    m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (m !== null && method === 'GET') {
      const [, name = '', subject = ''] = m;
      const artifactType = url.searchParams.get('artifactType');
      const manifests: object[] = [];
      for (const [digest, stored] of repositories.get(name)?.manifests ?? []) {
        const json = JSON.parse(stored.body.toString('utf8')) as {
          artifactType?: string;
          config?: { mediaType?: string };
          subject?: { digest?: string };
          annotations?: Record<string, string>;
        };
        if (json.subject?.digest !== subject) continue;
        const type = json.artifactType ?? json.config?.mediaType;
        if (artifactType !== null && type !== artifactType) continue;
        manifests.push({
          mediaType: stored.mediaType,
          digest,
          size: stored.body.length,
          ...(type === undefined ? {} : { artifactType: type }),
          ...(json.annotations === undefined ? {} : { annotations: json.annotations }),
        });
      }
      if (artifactType !== null) res.setHeader('OCI-Filters-Applied', 'artifactType');
      res.setHeader('Content-Type', OCI_INDEX);
      {
        send(res, 200, { schemaVersion: 2, mediaType: OCI_INDEX, manifests });
        return;
      }
    }
    send(res, 404, error('NOT_FOUND', `no route for ${method} ${path}`));
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    tags: (name) => [...(repositories.get(name)?.tags.keys() ?? [])],
    tamperBlob: (name, digest, bytes) => {
      repo(name).blobs.set(digest, Buffer.from(bytes));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => {
          if (e === undefined) resolve();
          else reject(e);
        });
      }),
  };
}

function send(res: ServerResponse, status: number, json: unknown): void {
  if (json === undefined) {
    res.setHeader('Content-Length', '0');
    res.writeHead(status);
    res.end();
    return;
  }
  const body = Buffer.from(JSON.stringify(json));
  if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', String(body.length));
  res.writeHead(status);
  res.end(body);
}

function error(code: string, message: string): { errors: { code: string; message: string }[] } {
  return { errors: [{ code, message }] };
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
