import { createHash } from 'node:crypto';
import {
  RetryingHttpClient,
  systemClock,
  type Clock,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
  type HttpTransportError,
  type Logger,
  type RetriedExchange,
  type RetryPolicy,
} from '@dreamscape/core';
import { GHCR_HOST } from './ghcr.js';
import {
  formatPlatform,
  isImageManifest,
  isIndex,
  MANIFEST_ACCEPT,
  MEDIA_TYPES,
  parsePlatform,
  selectManifest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from './manifest.js';
import {
  AuthorizationCache,
  basicAuthorization,
  parseTokenResponse,
  parseWwwAuthenticate,
  repositoryScope,
  type RegistryLogin,
} from './registry-auth.js';
import {
  ImageNotFoundError,
  RegistryAuthError,
  RegistryError,
  RegistryUnavailableError,
} from './registry-errors.js';
import {
  isListedInsecure,
  isLoopbackRegistry,
  mayFallBackToHttp,
  type RegistryScheme,
  type RegistryTransport,
} from './registry-transport.js';
import {
  DOCKER_HUB,
  formatName,
  formatReference,
  isValidDigest,
  parseReference,
  validateDigest,
  type ImageName,
  type ImageReference,
} from './reference.js';

/** Options for {@link RegistryClient}. */
export interface RegistryClientOptions {
  readonly http: HttpClient;
  readonly logger: Logger;
  /** Drives the retry waits and token expiry; tests pass a fake to run fast. */
  readonly clock?: Clock;
  /** Credentials, one per registry. Registered with the logger's masker at construction. */
  readonly logins?: readonly RegistryLogin[];
  /** Retries of 429, 5xx and connection failures. Default 4 attempts, 0.5 s doubling to 8 s. */
  readonly retry?: RetryPolicy;
  /**
   * `http` or `https`, for all registries or per registry, decided by the caller. Default: https,
   * and plain http only for a loopback registry or one in {@link insecureRegistries} that gets no
   * TLS answer (asked once per registry; see `registry-transport.ts`).
   */
  readonly scheme?: RegistryScheme | ((registry: string) => RegistryScheme);
  /**
   * Registries (`host[:port]`) reached over https without checking their certificate, or over
   * plain http when they do not speak TLS; credentials go to them over https only, unless they
   * are on this machine.
   */
  readonly insecureRegistries?: readonly string[];
  /** Per-request timeout. Default 30 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What `GET /v2/` said. */
export interface PingResult {
  readonly registry: string;
  readonly url: string;
  /** 200 (open, or our credentials were accepted) or 401 (credentials needed). */
  readonly status: number;
  /** `Docker-Distribution-API-Version`, when sent. */
  readonly apiVersion: string | undefined;
  /** The `WWW-Authenticate` challenges of a 401. */
  readonly challenges: readonly {
    readonly scheme: string;
    readonly params: Readonly<Record<string, string>>;
  }[];
}

/** A manifest or index as the registry holds it. */
export interface ManifestResult {
  /** The reference asked for, fully qualified. */
  readonly reference: string;
  /** The digest of exactly these bytes, as the registry reports it. */
  readonly digest: string;
  readonly mediaType: string;
  readonly body: Uint8Array;
  readonly manifest: ImageManifest | ImageIndex;
}

/** What {@link RegistryClient.storeManifest} stored. */
export interface StoredManifest {
  readonly digest: string;
  /** The `OCI-Subject` header of the answer: the subject's digest, when the registry indexes referrers. */
  readonly subject: string | undefined;
}

/** An image's config, reached through its manifest (and index). */
export interface ImageConfigResult {
  /** The digest of the reference itself (the index for a multi-platform image). */
  readonly digest: string;
  /** The digest of the single-platform manifest whose config this is. */
  readonly manifestDigest: string;
  /** The platform chosen in an index (`linux/amd64`), undefined for a single manifest. */
  readonly platform: string | undefined;
  readonly configDigest: string;
  readonly config: ImageConfig;
  readonly labels: Readonly<Record<string, string>>;
}

/** Options for reading an image's config. */
export interface ConfigOptions {
  /** Which entry of an index to follow. Default `linux/amd64`, else the first runnable entry. */
  readonly platform?: string;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, initialDelayMs: 500, maxDelayMs: 8000 };
/** TLS answered with a certificate that is not trusted. */
const UNTRUSTED_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO|ALTNAME/;
/** Transport failures that will not get better by trying again. */
const PERMANENT_TRANSPORT = /^(ENOTFOUND|ERR_INVALID_URL)$|TLS|SSL/;
/** An https attempt that something answered, but not with TLS: a plain http server. */
const NOT_TLS =
  /^(ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_PACKET_LENGTH_TOO_LONG|ERR_SSL_HTTP_REQUEST|EPROTO|ECONNRESET|UND_ERR_SOCKET)$/;

/** The host serving a registry's API (Docker Hub's differs from its name). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** The sha256 digest of some bytes, as `sha256:<hex>`. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Who is asking for what, for authentication and for error messages. */
interface Target {
  readonly registry: string;
  /** Unset for registry-wide requests (`/v2/`). */
  readonly repository: string | undefined;
  /** How errors name the subject: a reference, or the registry. */
  readonly display: string;
}

/**
 * A client of the OCI distribution API: ping, the `WWW-Authenticate` challenge (Basic, or a Bearer
 * token from the realm: the GHCR flow), manifests and indexes by tag or digest, digests of tags,
 * existence checks and image configs (labels). Every request is retried on 429, 5xx and connection
 * failures with backoff; failures end as {@link RegistryError}s that say what to do.
 */
export class RegistryClient {
  private readonly http: RetryingHttpClient;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly logins: readonly RegistryLogin[];
  private readonly retry: RetryPolicy;
  private readonly fixedScheme: ((registry: string) => RegistryScheme) | undefined;
  private readonly insecure: readonly string[];
  /** The scheme each registry that may need plain http answered to, asked once. */
  private readonly schemes = new Map<string, Promise<RegistryScheme>>();
  private readonly timeoutMs: number;
  private readonly cache: AuthorizationCache;
  /** The Bearer `service` each registry announced, for hints. */
  private readonly services = new Map<string, string>();
  /** Registries that answered that they have no referrers API. */
  private readonly noReferrersApi = new Set<string>();

  constructor(options: RegistryClientOptions) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.logins = options.logins ?? [];
    for (const login of this.logins) {
      this.logger.setSecret(login.password);
      this.logger.setSecret(basicAuthorization(login).slice('Basic '.length));
    }
    this.retry = options.retry ?? DEFAULT_RETRY;
    const scheme = options.scheme;
    this.fixedScheme =
      scheme === undefined ? undefined : typeof scheme === 'function' ? scheme : () => scheme;
    this.insecure = options.insecureRegistries ?? [];
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.http = new RetryingHttpClient({
      http: options.http,
      policy: this.retry,
      clock: this.clock,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      // 501 and 505 say the registry will never do this; every other 5xx may pass.
      retryableStatus: (response) =>
        response.status === 429 ||
        (response.status >= 500 && response.status !== 501 && response.status !== 505),
      retryableTransport: (error) =>
        !PERMANENT_TRANSPORT.test(error.code) && !UNTRUSTED_CERTIFICATE.test(error.code),
      // Rate limits (GHCR, Docker Hub) say when to come back; a minute at most.
      retryAfter: { maxMs: 60_000 },
      onResponse: (request, response) => {
        this.logger.debug(`${request.method} ${request.url} → ${response.status}`);
      },
    });
    this.cache = new AuthorizationCache(this.clock);
  }

  /** `https://ghcr.io` or `http://127.0.0.1:5000`: where the API of `registry` is. */
  async baseUrl(registry: string): Promise<string> {
    return `${await this.schemeOf(registry)}://${registryApiHost(registry)}`;
  }

  /**
   * How this client reaches `registry` (https, or the plain http it fell back to, and whether the
   * certificate is checked), so that a builder pushing there can be told the same.
   */
  async transport(registry: string): Promise<RegistryTransport> {
    return {
      registry,
      scheme: await this.schemeOf(registry),
      verifyTls: !isListedInsecure(registry, this.insecure),
    };
  }

  /**
   * `GET /v2/` without authenticating: whether the registry is there and speaks the API, and which
   * challenge it sends. Unreachable after the retries → {@link RegistryUnavailableError}.
   */
  async ping(registry: string): Promise<PingResult> {
    const url = `${await this.baseUrl(registry)}/v2/`;
    const response = await this.send(registry, { method: 'GET', url }, registry);
    if (response.status !== 200 && response.status !== 401)
      throw new RegistryError(
        `${registry} answered ${describeStatus(response.status)} to GET ${url}: it does not look like an OCI registry.`,
        { registry, status: response.status },
        { hint: 'Check the registry host and port (and http/https).' },
      );
    return {
      registry,
      url,
      status: response.status,
      apiVersion: response.headers['docker-distribution-api-version'],
      challenges: parseWwwAuthenticate(response.headers['www-authenticate'] ?? ''),
    };
  }

  /**
   * Authenticates against `registry` as its challenge asks (with this client's login for it) and
   * resolves when `GET /v2/` is allowed; a refusal raises a {@link RegistryAuthError} with a hint.
   */
  async verifyLogin(registry: string): Promise<void> {
    const target: Target = { registry, repository: undefined, display: registry };
    const response = await this.call(target, { method: 'GET', url: `${await this.baseUrl(registry)}/v2/` });
    this.expectOk(response, target, 'GET');
  }

  /**
   * The digest of what a reference points at, as the registry reports it (`Docker-Content-Digest`
   * of a HEAD with the index and manifest Accept types). When the header is missing the manifest
   * is fetched and its bytes hashed. A missing image raises {@link ImageNotFoundError}.
   */
  async digestOf(reference: ImageReference | string): Promise<string> {
    const ref = toReference(reference);
    const target = targetOf(ref);
    const response = await this.call(target, {
      method: 'HEAD',
      url: await this.manifestUrl(ref),
      headers: { Accept: MANIFEST_ACCEPT },
    });
    this.expectOk(response, target, 'HEAD', ref);
    const header = response.headers['docker-content-digest'];
    if (header !== undefined && isValidDigest(header)) {
      if (ref.digest !== undefined && header !== ref.digest) throw this.mismatch(target, ref.digest, header);
      return header;
    }
    this.logger.debug(`${target.display}: no Docker-Content-Digest on HEAD; hashing the manifest instead`);
    return (await this.getManifest(ref)).digest;
  }

  /** Whether the reference exists in the registry (false on 404; other failures still throw). */
  async exists(reference: ImageReference | string): Promise<boolean> {
    try {
      await this.digestOf(reference);
      return true;
    } catch (error) {
      if (error instanceof ImageNotFoundError) return false;
      throw error;
    }
  }

  /** The manifest or index a reference points at, with its digest. */
  async getManifest(reference: ImageReference | string): Promise<ManifestResult> {
    const ref = toReference(reference);
    const target = targetOf(ref);
    const response = await this.call(target, {
      method: 'GET',
      url: await this.manifestUrl(ref),
      headers: { Accept: MANIFEST_ACCEPT },
    });
    this.expectOk(response, target, 'GET', ref);
    const computed = sha256Digest(response.body);
    if (ref.digest !== undefined && computed !== ref.digest)
      throw this.mismatch(target, ref.digest, computed);
    const header = response.headers['docker-content-digest'];
    const digest = header !== undefined && isValidDigest(header) ? header : computed;
    if (digest !== computed)
      this.logger.debug(`${target.display}: the registry reports ${digest}, the bytes hash to ${computed}`);
    let json: unknown;
    try {
      json = JSON.parse(response.text());
    } catch (error) {
      throw new RegistryError(
        `${target.display}: the registry returned a manifest that is not JSON.`,
        target,
        {
          cause: error,
        },
      );
    }
    const contentType = (response.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const declared =
      typeof json === 'object' && json !== null ? (json as { mediaType?: unknown }).mediaType : undefined;
    const mediaType = contentType !== '' ? contentType : typeof declared === 'string' ? declared : '';
    if (!isIndex(mediaType, json) && !isImageManifest(json))
      throw new RegistryError(
        `${target.display} is neither an image manifest nor an index (media type '${mediaType}').`,
        target,
      );
    return { reference: formatReference(ref), digest, mediaType, body: response.body, manifest: json };
  }

  /**
   * The image config (to read its labels). An index is followed to the `platform` entry
   * (`linux/amd64` by default) or its first runnable image; attestation entries are skipped.
   */
  async getImageConfig(
    reference: ImageReference | string,
    options: ConfigOptions = {},
  ): Promise<ImageConfigResult> {
    const ref = toReference(reference);
    const top = await this.getManifest(ref);
    let current = top;
    let platform: string | undefined;
    if (isIndex(top.mediaType, top.manifest)) {
      const wanted = parsePlatform(options.platform ?? 'linux/amd64');
      const chosen = selectManifest(top.manifest, wanted);
      if (chosen === undefined)
        throw new RegistryError(`${top.reference} is an index with no runnable image in it.`, targetOf(ref));
      platform = chosen.platform === undefined ? undefined : formatPlatform(chosen.platform);
      this.logger.debug(
        `${top.reference} is an index; following ${platform ?? 'its first entry'} (${chosen.digest})`,
      );
      current = await this.getManifest({ ...ref, tag: undefined, digest: chosen.digest });
    }
    if (!isImageManifest(current.manifest))
      throw new RegistryError(
        `${current.reference} has no image config (media type '${current.mediaType}').`,
        targetOf(ref),
      );
    const configDigest = current.manifest.config.digest;
    const blob = await this.getBlob(ref, configDigest);
    let config: ImageConfig;
    try {
      config = JSON.parse(Buffer.from(blob).toString('utf8')) as ImageConfig;
    } catch (error) {
      throw new RegistryError(`The config ${configDigest} of ${top.reference} is not JSON.`, targetOf(ref), {
        cause: error,
      });
    }
    return {
      digest: top.digest,
      manifestDigest: current.digest,
      platform,
      configDigest,
      config,
      labels: config.config?.Labels ?? {},
    };
  }

  /** The labels of an image (of the `platform` entry of an index). */
  async getLabels(
    reference: ImageReference | string,
    options: ConfigOptions = {},
  ): Promise<Readonly<Record<string, string>>> {
    return (await this.getImageConfig(reference, options)).labels;
  }

  /** A blob's bytes, checked against its digest. */
  async getBlob(name: ImageName, digest: string): Promise<Uint8Array> {
    validateDigest(digest);
    const target: Target = {
      registry: name.registry,
      repository: name.repository,
      display: `${formatName(name)}@${digest}`,
    };
    const response = await this.call(target, {
      method: 'GET',
      url: `${await this.baseUrl(name.registry)}/v2/${name.repository}/blobs/${digest}`,
    });
    this.expectOk(response, target, 'GET');
    const computed = sha256Digest(response.body);
    if (computed !== digest) throw this.mismatch(target, digest, computed);
    return response.body;
  }

  /** Whether the repository holds the blob (`HEAD /v2/<name>/blobs/<digest>`: 200 yes, 404 no). */
  async hasBlob(name: ImageName, digest: string): Promise<boolean> {
    validateDigest(digest);
    const target = blobTarget(name, digest);
    const response = await this.call(target, {
      method: 'HEAD',
      url: `${await this.baseUrl(name.registry)}/v2/${name.repository}/blobs/${digest}`,
    });
    if (response.status === 404) return false;
    this.expectOk(response, target, 'HEAD');
    return true;
  }

  /**
   * Uploads a blob in one piece, unless the repository already holds it: `HEAD` first, then
   * `POST /v2/<name>/blobs/uploads/` and `PUT <location>?digest=<digest>` with the bytes (the
   * monolithic upload of the distribution spec), authenticated for `pull,push`. Returns the digest.
   */
  async putBlob(name: ImageName, bytes: Uint8Array): Promise<string> {
    const digest = sha256Digest(bytes);
    if (await this.hasBlob(name, digest)) {
      this.logger.debug(`${formatName(name)}@${digest} is already in the registry; not uploading it`);
      return digest;
    }
    const target = blobTarget(name, digest);
    const base = await this.baseUrl(name.registry);
    const started = await this.call(
      target,
      { method: 'POST', url: `${base}/v2/${name.repository}/blobs/uploads/` },
      ['pull', 'push'],
    );
    const location = started.headers.location;
    if (started.status !== 202 || location === undefined || location === '')
      throw this.pushError(target, started, 'POST of a blob upload');
    // Location may be relative, and may carry the registry's own state in its query.
    const upload = new URL(location, `${base}/`);
    upload.searchParams.set('digest', digest);
    const done = await this.call(
      target,
      {
        method: 'PUT',
        url: upload.toString(),
        headers: { 'Content-Type': 'application/octet-stream' },
        body: bytes,
      },
      ['pull', 'push'],
    );
    if (done.status !== 201 && done.status !== 204) throw this.pushError(target, done, 'PUT of the blob');
    const reported = done.headers['docker-content-digest'];
    if (reported !== undefined && reported !== '' && reported !== digest)
      throw this.mismatch(target, digest, reported);
    return digest;
  }

  /**
   * The referrers of a manifest through the OCI 1.1 referrers API
   * (`GET /v2/<name>/referrers/<digest>`, optionally `?artifactType=`): an index of descriptors.
   * Undefined when the registry does not offer the API (404, 405 or 501), so the caller can fall
   * back to the referrers tag schema. `filtered` says whether the registry applied `artifactType`
   * (`OCI-Filters-Applied`); a caller filters again either way.
   */
  async getReferrers(
    name: ImageName,
    digest: string,
    artifactType?: string,
  ): Promise<{ readonly index: ImageIndex; readonly filtered: boolean } | undefined> {
    validateDigest(digest);
    // A registry with the API answers 200 (an empty index when there are none); without it, 404: it
    // is asked once per client, not once per image.
    if (this.noReferrersApi.has(name.registry)) return undefined;
    const target: Target = {
      registry: name.registry,
      repository: name.repository,
      display: `${formatName(name)}@${digest}`,
    };
    const url = new URL(`${await this.baseUrl(name.registry)}/v2/${name.repository}/referrers/${digest}`);
    if (artifactType !== undefined) url.searchParams.set('artifactType', artifactType);
    const response = await this.call(target, {
      method: 'GET',
      url: url.toString(),
      headers: { Accept: MEDIA_TYPES.ociIndex },
    });
    if (response.status === 404 || response.status === 405 || response.status === 501) {
      // A 404 with the registry's error document (an unknown repository, say) is about this image;
      // the route itself missing (no API) is about the registry.
      if (response.status !== 404 || firstError(response) === undefined)
        this.noReferrersApi.add(name.registry);
      return undefined;
    }
    this.expectOk(response, target, 'GET of the referrers');
    let json: unknown;
    try {
      json = JSON.parse(response.text());
    } catch (error) {
      throw new RegistryError(
        `${target.display}: the referrers API answered with something not JSON.`,
        target,
        {
          cause: error,
        },
      );
    }
    if (!isIndex(MEDIA_TYPES.ociIndex, json) || !Array.isArray(json.manifests))
      throw new RegistryError(`${target.display}: the referrers API did not answer with an index.`, target);
    const filters = (response.headers['oci-filters-applied'] ?? '').split(',').map((f) => f.trim());
    return { index: json, filtered: filters.includes('artifactType') };
  }

  /**
   * Stores a manifest (or index) under a tag or digest: `PUT /v2/<name>/manifests/<reference>`,
   * authenticated for `pull,push`. The blobs it points at must already be in the same repository,
   * which is the case when re-tagging a manifest read from it. Returns the digest, after checking
   * that the registry's `Docker-Content-Digest` equals the sha256 of `body`: a registry that stored
   * something else (a converted manifest) must not be taken to hold these bytes.
   */
  async putManifest(
    reference: ImageReference | string,
    body: Uint8Array,
    mediaType: string,
  ): Promise<string> {
    return (await this.storeManifest(reference, body, mediaType)).digest;
  }

  /**
   * {@link putManifest}, also returning the `OCI-Subject` header: a registry that sends it for a
   * manifest with a `subject` indexes referrers itself (OCI 1.1); one that does not needs the
   * referrers tag schema kept by the client.
   */
  async storeManifest(
    reference: ImageReference | string,
    body: Uint8Array,
    mediaType: string,
  ): Promise<StoredManifest> {
    const ref = toReference(reference);
    const target = targetOf(ref);
    const digest = sha256Digest(body);
    if (ref.digest !== undefined && ref.digest !== digest)
      throw new RegistryError(
        `${target.display}: the manifest to store hashes to ${digest}, not to the digest it is to be stored under.`,
        target,
      );
    const response = await this.call(
      target,
      { method: 'PUT', url: await this.manifestUrl(ref), headers: { 'Content-Type': mediaType }, body },
      ['pull', 'push'],
    );
    if (response.status < 200 || response.status >= 300) {
      const code = firstError(response)?.code;
      throw new RegistryError(
        `${target.registry} answered ${describeStatus(response.status)} to PUT of the manifest for ${target.display}${errorDetail(response)}.`,
        { registry: target.registry, status: response.status, reference: target.display },
        {
          hint:
            code === 'MANIFEST_BLOB_UNKNOWN' || code === 'BLOB_UNKNOWN'
              ? 'The blobs of this manifest are not in this repository; a manifest can only be tagged in the repository it was pushed to.'
              : code === 'MANIFEST_INVALID' || code === 'MANIFEST_UNVERIFIED' || response.status === 415
                ? `The registry does not accept this manifest (media type '${mediaType}').`
                : 'Check that the credentials may push to this repository.',
        },
      );
    }
    const reported = response.headers['docker-content-digest'];
    if (reported === undefined || reported === '')
      this.logger.debug(`${target.display}: no Docker-Content-Digest on PUT; the bytes hash to ${digest}`);
    else if (reported !== digest)
      throw new RegistryError(
        `${target.display}: the registry reports that it stored ${reported} for a manifest whose bytes hash to ${digest}.`,
        target,
        {
          hint: 'The registry or a proxy rewrote the manifest; the tag does not point at the image it was meant to.',
        },
      );
    const subject = response.headers['oci-subject'];
    return { digest, subject: subject === undefined || subject === '' ? undefined : subject };
  }

  private async manifestUrl(ref: ImageReference): Promise<string> {
    return `${await this.baseUrl(ref.registry)}/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`;
  }

  private loginFor(registry: string): RegistryLogin | undefined {
    return this.logins.find((l) => l.registry.toLowerCase() === registry.toLowerCase());
  }

  /** One authenticated request: cached authorization, else the challenge flow, then one retry. */
  private async call(
    target: Target,
    request: HttpRequest,
    actions: readonly string[] = ['pull'],
  ): Promise<HttpResponse> {
    const scope = target.repository === undefined ? '' : repositoryScope(target.repository, actions);
    let authorization = this.cache.get(target.registry, scope);
    let response = await this.send(
      target.registry,
      withAuthorization(request, authorization),
      target.display,
    );
    if (response.status === 401) {
      if (authorization !== undefined) this.cache.forget(target.registry, scope);
      authorization = await this.authorize(target, scope, response);
      response = await this.send(target.registry, withAuthorization(request, authorization), target.display);
    }
    if (response.status === 401 || response.status === 403) throw this.authError(target, response);
    return response;
  }

  /** Answers a 401's challenge; returns the `Authorization` value to send. */
  private async authorize(target: Target, scope: string, response: HttpResponse): Promise<string> {
    const challenges = parseWwwAuthenticate(response.headers['www-authenticate'] ?? '');
    const login = this.loginFor(target.registry);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer !== undefined) {
      const realm = bearer.params.realm;
      if (realm === undefined || realm === '')
        throw new RegistryAuthError(`${target.registry} sent a Bearer challenge without a realm.`, {
          registry: target.registry,
          status: 401,
          reference: target.display,
        });
      if (bearer.params.service !== undefined) this.services.set(target.registry, bearer.params.service);
      const url = new URL(realm);
      if (bearer.params.service !== undefined) url.searchParams.set('service', bearer.params.service);
      const wanted = bearer.params.scope ?? scope;
      if (wanted !== '') url.searchParams.set('scope', wanted);
      const headers: Record<string, string> = {};
      if (login !== undefined) headers.Authorization = basicAuthorization(login);
      this.logger.debug(
        `Getting a token for ${wanted === '' ? target.registry : wanted} from ${url.origin}${url.pathname} (${login === undefined ? 'anonymously' : `as ${login.username}`})`,
      );
      const answer = await this.send(
        target.registry,
        { method: 'GET', url: url.toString(), headers },
        target.display,
      );
      if (answer.status === 401 || answer.status === 403)
        throw this.authError(target, answer, `the token service ${url.origin}${url.pathname}`);
      const token = answer.status === 200 ? parseTokenResponse(answer.text()) : undefined;
      if (token === undefined)
        throw new RegistryAuthError(
          `The token service of ${target.registry} (${url.origin}${url.pathname}) answered ${describeStatus(answer.status)} without a token.`,
          { registry: target.registry, status: answer.status, reference: target.display },
        );
      this.logger.setSecret(token.token);
      this.cache.setBearer(target.registry, scope, token.token, token.expiresInSeconds);
      return `Bearer ${token.token}`;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (login === undefined) throw this.authError(target, response);
      const value = basicAuthorization(login);
      this.cache.setBasic(target.registry, value);
      return value;
    }
    throw this.authError(target, response);
  }

  /**
   * The scheme of `registry`: the caller's, or https, or, for a registry that may fall back (a
   * loopback one, or one listed as insecure), whatever `GET /v2/` answered to, asked once per
   * registry. A registry that could not be reached at all is asked again next time.
   */
  private schemeOf(registry: string): Promise<RegistryScheme> {
    if (this.fixedScheme !== undefined) return Promise.resolve(this.fixedScheme(registry));
    if (!mayFallBackToHttp(registry, this.insecure)) return Promise.resolve('https');
    const key = registry.toLowerCase();
    const known = this.schemes.get(key);
    if (known !== undefined) return known;
    const probe = this.probeScheme(registry);
    this.schemes.set(key, probe);
    probe.catch(() => {
      if (this.schemes.get(key) === probe) this.schemes.delete(key);
    });
    return probe;
  }

  /**
   * https first; plain http only when something answered the TLS handshake with something that is
   * not TLS (a plain http registry). A certificate that is not trusted, a refused connection or a
   * name that does not resolve never falls back: plain http would not be the answer to any of them.
   */
  private async probeScheme(registry: string): Promise<RegistryScheme> {
    const secure: HttpRequest = { method: 'GET', url: `https://${registryApiHost(registry)}/v2/` };
    const first = await this.exchange(registry, secure);
    if (first.exchange.kind === 'response') return 'https';
    const error = first.exchange.error;
    if (UNTRUSTED_CERTIFICATE.test(error.code))
      throw this.unavailable(registry, first.request, first.exchange, registry, {
        hint: `${registry} speaks TLS with a certificate this runner does not trust. Trust its CA (for the actions, NODE_EXTRA_CA_CERTS=/path/ca.crt in the step's env; for buildah /etc/containers/certs.d/${registry}/ca.crt; for Docker /etc/docker/certs.d/${registry}/ca.crt), or list it in insecure-registries to skip the certificate check.`,
      });
    if (
      !NOT_TLS.test(error.code) &&
      !/wrong version number|packet length too long|http request/i.test(error.message)
    )
      throw this.unavailable(registry, first.request, first.exchange, registry);
    const plain: HttpRequest = { method: 'GET', url: `http://${registryApiHost(registry)}/v2/` };
    const second = await this.exchange(registry, plain);
    if (second.exchange.kind === 'transport')
      throw this.unavailable(registry, second.request, second.exchange, registry, {
        also: `over https: ${describeTransport(first.request, error)}`,
      });
    this.logger.info(
      `${registry} does not speak TLS (${error.code}): reaching it over plain http, as ${isLoopbackRegistry(registry) ? 'a registry on this machine' : 'insecure-registries'} allows.`,
    );
    return 'http';
  }

  /** A request with retries on 429/5xx and connection failures. */
  private async send(registry: string, request: HttpRequest, display: string): Promise<HttpResponse> {
    const { request: full, exchange } = await this.exchange(registry, request);
    if (exchange.kind === 'response' && !exchange.gaveUp) return exchange.response;
    throw this.unavailable(registry, full, exchange, display);
  }

  /**
   * One request through the retries, as it goes on the wire: with the client's timeout, the
   * certificate check off only for a registry listed as insecure (and only towards that registry),
   * and never with credentials over plain http to a host off this machine.
   */
  private async exchange(
    registry: string,
    request: HttpRequest,
  ): Promise<{ readonly request: HttpRequest; readonly exchange: RetriedExchange }> {
    const url = new URL(request.url);
    const full: HttpRequest = {
      ...request,
      timeoutMs: request.timeoutMs ?? this.timeoutMs,
      ...(url.protocol === 'https:' &&
      url.host === registryApiHost(registry).toLowerCase() &&
      isListedInsecure(registry, this.insecure)
        ? { verifyTls: false }
        : {}),
    };
    const credentials = Object.keys(request.headers ?? {}).some((h) => h.toLowerCase() === 'authorization');
    if (credentials && url.protocol === 'http:' && !isLoopbackRegistry(url.host))
      throw new RegistryAuthError(
        `Not sending credentials for ${registry} over plain http (${request.method} ${url.origin}${url.pathname}): a registry off this machine gets them over https only.`,
        { registry },
        {
          hint: `Serve ${registry} over https (with a certificate that cannot be checked, list it in insecure-registries), or give no credentials for it.`,
        },
      );
    const exchange = await this.http.send(full, {
      onRetry: (sent, cause, attempt, delayMs) => {
        const what =
          cause.kind === 'status'
            ? `answered ${describeStatus(cause.response.status)}`
            : `could not be reached (${cause.error.message})`;
        this.logger.info(
          `${registry} ${what} for ${sent.method} ${sent.url}; retrying in ${delayMs}ms (attempt ${attempt + 1} of ${this.retry.attempts}).`,
        );
      },
    });
    return { request: full, exchange };
  }

  /** The error for an exchange that ended without a usable answer. */
  private unavailable(
    registry: string,
    full: HttpRequest,
    exchange: RetriedExchange,
    display: string,
    extra: { readonly hint?: string; readonly also?: string } = {},
  ): RegistryUnavailableError {
    const tries = `${exchange.attempts} attempt${exchange.attempts === 1 ? '' : 's'}`;
    if (exchange.kind === 'response') {
      const response = exchange.response;
      return new RegistryUnavailableError(
        `${registry} answered ${describeStatus(response.status)} to ${full.method} ${full.url} after ${tries}${errorDetail(response)}.`,
        { registry, status: response.status, reference: display, attempts: exchange.attempts },
        { hint: 'The registry is failing or rate-limiting; try again later or check its status page.' },
      );
    }
    const also = extra.also === undefined ? '' : `; ${extra.also}`;
    return new RegistryUnavailableError(
      `Registry ${registry} could not be reached after ${tries} (${full.method} ${full.url}): ${describeTransport(full, exchange.error)}${also}.`,
      { registry, reference: display, attempts: exchange.attempts },
      {
        hint:
          extra.hint ??
          'Check the registry address and that it is running. Registries are reached over https; plain http is tried only for a registry on this machine or one listed in insecure-registries, when it does not speak TLS.',
        cause: exchange.error,
      },
    );
  }

  private expectOk(response: HttpResponse, target: Target, method: string, ref?: ImageReference): void {
    if (response.status >= 200 && response.status < 300) return;
    const data = { registry: target.registry, status: response.status, reference: target.display };
    const code = firstError(response)?.code;
    if (response.status === 404) {
      const what =
        code === 'NAME_UNKNOWN'
          ? `the repository '${target.repository ?? ''}' does not exist in ${target.registry}`
          : ref?.digest !== undefined
            ? `${target.registry} has no manifest with digest ${ref.digest}`
            : ref !== undefined
              ? `${target.registry} has no manifest for tag '${ref.tag ?? 'latest'}'`
              : `${target.registry} does not have it`;
      throw new ImageNotFoundError(
        `Image ${target.display} was not found: ${what}${errorDetail(response)}.`,
        data,
        {
          hint: 'Check the image name and tag, and that the image was pushed (a build without push publishes nothing).',
        },
      );
    }
    throw new RegistryError(
      `${target.registry} answered ${describeStatus(response.status)} to ${method} for ${target.display}${errorDetail(response)}.`,
      data,
    );
  }

  private authError(target: Target, response: HttpResponse, from?: string): RegistryAuthError {
    const login = this.loginFor(target.registry);
    const who = from ?? target.registry;
    const detail = `${describeStatus(response.status)}${errorDetail(response)}`;
    const message =
      response.status === 403
        ? `${who} denied ${login === undefined ? 'anonymous' : `'${login.username}'`} access to ${target.display} (${detail}).`
        : login === undefined
          ? `${who} requires credentials for ${target.display} (${detail}), and none were given for ${target.registry}.`
          : `${who} refused the credentials of '${login.username}' for ${target.display} (${detail}).`;
    return new RegistryAuthError(
      message,
      { registry: target.registry, status: response.status, reference: target.display },
      { hint: authHint(target.registry, this.services.get(target.registry), login !== undefined) },
    );
  }

  private pushError(target: Target, response: HttpResponse, what: string): RegistryError {
    return new RegistryError(
      `${target.registry} answered ${describeStatus(response.status)} to the ${what} for ${target.display}${errorDetail(response)}.`,
      { registry: target.registry, status: response.status, reference: target.display },
      { hint: 'Check that the credentials may push to this repository.' },
    );
  }

  private mismatch(target: Target, expected: string, actual: string): RegistryError {
    return new RegistryError(
      `${target.display}: the registry returned content with digest ${actual} where ${expected} was asked for.`,
      target,
      { hint: 'A proxy or the registry altered the content; do not use this image until this is explained.' },
    );
  }
}

/** What to do about a 401/403, with GHCR's own pitfalls when the registry is GHCR. */
export function authHint(registry: string, service: string | undefined, withLogin: boolean): string {
  const ghcr = registry === GHCR_HOST || service === GHCR_HOST;
  const lines = [
    withLogin
      ? `Check the username and the password or token given for ${registry}, and that they may read and write this repository.`
      : `Give credentials for ${registry} (a username and a password or token).`,
  ];
  if (ghcr)
    lines.push(
      'With GITHUB_TOKEN, the job needs `permissions: packages: write` (`packages: read` to pull only).',
      'A GHCR package first created by a manual push refuses the workflow token until its settings grant this repository access: Package settings → Manage Actions access → Add repository (role Write).',
    );
  else lines.push('On GHCR with GITHUB_TOKEN, the job also needs `permissions: packages: write`.');
  return lines.join(' ');
}

function toReference(reference: ImageReference | string): ImageReference {
  return typeof reference === 'string' ? parseReference(reference) : reference;
}

function blobTarget(name: ImageName, digest: string): Target {
  return { registry: name.registry, repository: name.repository, display: `${formatName(name)}@${digest}` };
}

function targetOf(ref: ImageReference): Target {
  return { registry: ref.registry, repository: ref.repository, display: formatReference(ref) };
}

function withAuthorization(request: HttpRequest, authorization: string | undefined): HttpRequest {
  if (authorization === undefined) return request;
  return { ...request, headers: { ...request.headers, Authorization: authorization } };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function describeStatus(status: number): string {
  const text = STATUS_TEXT[status];
  return text === undefined ? String(status) : `${status} ${text}`;
}

/** The first entry of a distribution error body: `{"errors":[{"code":"...","message":"..."}]}`. */
function firstError(response: HttpResponse): { code: string; message: string } | undefined {
  if (response.body.length === 0) return undefined;
  try {
    const json = JSON.parse(response.text()) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = json.errors?.[0];
    if (first === undefined) return undefined;
    return {
      code: typeof first.code === 'string' ? first.code : '',
      message: typeof first.message === 'string' ? first.message : '',
    };
  } catch {
    return undefined;
  }
}

/** What went wrong with a request that got no answer, with the system's code. */
function describeTransport(request: HttpRequest, error: HttpTransportError): string {
  const detail = error.message.replace(`${request.method} ${request.url} failed: `, '');
  return detail.includes(error.code) ? detail : `${detail} (${error.code})`;
}

function errorDetail(response: HttpResponse): string {
  const first = firstError(response);
  if (first === undefined) return '';
  return `: ${[first.code, first.message].filter((p) => p !== '').join(' ')}`;
}
