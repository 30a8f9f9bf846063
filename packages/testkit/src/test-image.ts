import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * Pushes a tiny image (one config blob, one layer, an OCI manifest; or an OCI index of several)
 * through the distribution HTTP API, the way a builder would, so registry tests need no builder.
 * It speaks the API on its own (fetch, Basic or the Bearer token flow) so that it can serve as an
 * independent witness of what a registry client under test reads back.
 */

/** Where to push: a {@link RunningRegistry} or anything with its `url` and `host`. */
export interface PushTarget {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT` */
  readonly host: string;
}

/** Options for {@link pushTestImage}. */
export interface PushTestImageOptions {
  /** Labels of the image config (`config.Labels`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** For registries with authentication. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /**
   * Push an OCI index with one image per platform (`linux/amd64`, `linux/arm64/v8`) instead of a
   * single manifest. Each platform's config also gets the label `dreamscape.test.platform`.
   */
  readonly platforms?: readonly string[];
  /** With `platforms`: put a buildx-style attestation entry (`unknown/unknown`) first in the index. */
  readonly attestation?: boolean;
  /** The content of the one file in the layer; change it to get a different digest. */
  readonly content?: string;
}

/** One single-platform image that was pushed. */
export interface PushedManifest {
  readonly platform: string;
  readonly digest: string;
  readonly configDigest: string;
  readonly size: number;
}

/** What was pushed. */
export interface PushedTestImage {
  /** `127.0.0.1:PORT/repo:tag` */
  readonly reference: string;
  /** The digest of the manifest (or index) the tag points at, computed from the bytes pushed. */
  readonly digest: string;
  readonly mediaType: string;
  /** The exact bytes of the manifest (or index). */
  readonly body: string;
  /** The single-platform images, in index order (one entry without `platforms`). */
  readonly manifests: readonly PushedManifest[];
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** Pushes `repository:tag` to the registry and returns its digest, checked against the registry's. */
export async function pushTestImage(
  registry: PushTarget,
  repository: string,
  tag: string,
  options: PushTestImageOptions = {},
): Promise<PushedTestImage> {
  const api = new DistributionApi(registry.url, repository, options.credentials);
  const content = options.content ?? `dreamscape test image ${repository}:${tag}\n`;
  if (options.platforms === undefined || options.platforms.length === 0) {
    const single = await pushManifest(api, 'linux/amd64', options.labels ?? {}, content, tag);
    return {
      reference: `${registry.host}/${repository}:${tag}`,
      digest: single.pushed.digest,
      mediaType: OCI_MANIFEST,
      body: single.body,
      manifests: [single.pushed],
    };
  }

  const entries: object[] = [];
  const manifests: PushedManifest[] = [];
  if (options.attestation === true) {
    const attestation = await pushAttestation(api, content);
    entries.push({
      mediaType: OCI_MANIFEST,
      digest: attestation.digest,
      size: attestation.size,
      platform: { architecture: 'unknown', os: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
    });
  }
  for (const platform of options.platforms) {
    const labels = { ...options.labels, 'dreamscape.test.platform': platform };
    const { pushed } = await pushManifest(api, platform, labels, `${content}${platform}\n`, undefined);
    manifests.push(pushed);
    const [os = '', architecture = '', variant] = platform.split('/');
    entries.push({
      mediaType: OCI_MANIFEST,
      digest: pushed.digest,
      size: pushed.size,
      platform: { architecture, os, ...(variant === undefined ? {} : { variant }) },
    });
  }
  const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries });
  const digest = await api.putManifest(tag, OCI_INDEX, body);
  return {
    reference: `${registry.host}/${repository}:${tag}`,
    digest,
    mediaType: OCI_INDEX,
    body,
    manifests,
  };
}

async function pushManifest(
  api: DistributionApi,
  platform: string,
  labels: Readonly<Record<string, string>>,
  content: string,
  tag: string | undefined,
): Promise<{ pushed: PushedManifest; body: string }> {
  const tar = tarFile('hello.txt', Buffer.from(content, 'utf8'));
  const layer = gzipSync(tar, { level: 9 });
  const [os = '', architecture = '', variant] = platform.split('/');
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os,
      ...(variant === undefined ? {} : { variant }),
      config: { Labels: labels, Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [digestOf(tar)] },
      history: [{ created_by: 'dreamscape testkit' }],
    }),
  );
  const configDigest = await api.putBlob(config);
  const layerDigest = await api.putBlob(layer);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
  });
  const digest = await api.putManifest(tag ?? digestOf(Buffer.from(body)), OCI_MANIFEST, body);
  return { pushed: { platform, digest, configDigest, size: Buffer.byteLength(body) }, body };
}

/** A small in-toto attestation manifest, as buildx attaches to an index. */
async function pushAttestation(
  api: DistributionApi,
  content: string,
): Promise<{ digest: string; size: number }> {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'unknown', os: 'unknown', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const statement = Buffer.from(
    JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [], note: content }),
  );
  const configDigest = await api.putBlob(config);
  const statementDigest = await api.putBlob(statement);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.in-toto+json', digest: statementDigest, size: statement.length }],
  });
  const digest = await api.putManifest(digestOf(Buffer.from(body)), OCI_MANIFEST, body);
  return { digest, size: Buffer.byteLength(body) };
}

/** The few distribution endpoints a push needs, with Basic or Bearer authentication. */
class DistributionApi {
  private authorization: string | undefined;

  constructor(
    private readonly base: string,
    private readonly repository: string,
    private readonly credentials: { readonly username: string; readonly password: string } | undefined,
  ) {}

  async putBlob(bytes: Buffer): Promise<string> {
    const digest = digestOf(bytes);
    const started = await this.request('POST', `${this.base}/v2/${this.repository}/blobs/uploads/`, {});
    if (started.status !== 202)
      throw new Error(`starting a blob upload answered ${started.status}: ${await started.text()}`);
    const location = started.headers.get('location') ?? '';
    const upload = new URL(location, this.base);
    upload.searchParams.set('digest', digest);
    const done = await this.request('PUT', upload.toString(), {
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (done.status !== 201)
      throw new Error(`uploading blob ${digest} answered ${done.status}: ${await done.text()}`);
    return digest;
  }

  /** PUTs a manifest; returns its digest after checking the registry computed the same. */
  async putManifest(reference: string, mediaType: string, body: string): Promise<string> {
    const digest = digestOf(Buffer.from(body));
    const response = await this.request('PUT', `${this.base}/v2/${this.repository}/manifests/${reference}`, {
      body,
      headers: { 'Content-Type': mediaType },
    });
    if (response.status !== 201)
      throw new Error(`pushing manifest ${reference} answered ${response.status}: ${await response.text()}`);
    const reported = response.headers.get('docker-content-digest');
    if (reported !== null && reported !== digest)
      throw new Error(`the registry computed ${reported} for a manifest whose bytes hash to ${digest}`);
    return digest;
  }

  private async request(
    method: string,
    url: string,
    init: { body?: string | Buffer; headers?: Record<string, string> },
  ): Promise<Response> {
    const send = (): Promise<Response> =>
      fetch(url, {
        method,
        headers: {
          ...init.headers,
          ...(this.authorization === undefined ? {} : { Authorization: this.authorization }),
        },
        ...(init.body === undefined ? {} : { body: init.body }),
      });
    let response = await send();
    if (response.status !== 401) return response;
    await response.arrayBuffer();
    this.authorization = await this.authenticate(response.headers.get('www-authenticate') ?? '');
    response = await send();
    return response;
  }

  private async authenticate(challenge: string): Promise<string> {
    if (this.credentials === undefined)
      throw new Error(`the registry asks for credentials (${challenge}) and none were given`);
    const basic = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (/^basic/i.test(challenge)) return basic;
    const params = new Map<string, string>();
    for (const m of challenge.matchAll(/(\w+)="([^"]*)"/g)) params.set(m[1] ?? '', m[2] ?? '');
    const realm = params.get('realm');
    if (realm === undefined) throw new Error(`unusable challenge: ${challenge}`);
    const url = new URL(realm);
    const service = params.get('service');
    if (service !== undefined) url.searchParams.set('service', service);
    url.searchParams.set('scope', `repository:${this.repository}:pull,push`);
    const response = await fetch(url, { headers: { Authorization: basic } });
    if (response.status !== 200)
      throw new Error(`the token service answered ${response.status}: ${await response.text()}`);
    const json = (await response.json()) as { token?: string };
    if (json.token === undefined) throw new Error('the token service answered without a token');
    return `Bearer ${json.token}`;
  }
}

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A ustar archive holding one regular file, with fixed owner and time so it is reproducible. */
function tarFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512, 0);
  const field = (offset: number, length: number, value: string): void => {
    header.write(value, offset, length, 'ascii');
  };
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`;
  field(0, 100, name);
  field(100, 8, octal(0o644, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(content.length, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}
