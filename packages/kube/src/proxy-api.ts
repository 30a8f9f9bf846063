import {
  ActionError,
  HttpTransportError,
  RetryingHttpClient,
  backoffDelay,
  systemClock,
  type Clock,
  type HttpClient,
  type HttpResponse,
  type Logger,
  type RetryPolicy,
} from '@dreamscape/core';
import type { KubeObject } from './kube-object.js';
import {
  collectionPath,
  knownResource,
  knownResourceInGroup,
  resourceOf,
  type ObjectRef,
  type ResourceInfo,
} from './resource-names.js';

/** A failed API call through the proxy, with the Status reason to branch on (`NotFound`, `Conflict`, ...). */
export class KubeApiError extends ActionError {
  readonly reason: string;
  readonly statusCode: number;

  constructor(method: string, path: string, statusCode: number, reason: string, message: string) {
    super(statusCode === 0 ? message : `${method} ${path} failed: ${statusCode} ${reason}: ${message}`);
    this.name = 'KubeApiError';
    this.reason = reason;
    this.statusCode = statusCode;
  }
}

/** Options of {@link ProxyApi}. */
export interface ProxyApiOptions {
  /** `http://127.0.0.1:PORT` of a running `kubectl proxy` (see `Kubectl.startProxy`). */
  readonly baseUrl: string;
  readonly http: HttpClient;
  readonly logger: Logger;
  /** Default `dreamscape`. */
  readonly fieldManager?: string;
  /** Per request. Default 30 s. */
  readonly timeoutMs?: number;
  /**
   * Retries of requests that are safe to repeat (GET, merge and strategic PATCH, DELETE) on 429,
   * 5xx and transport failures (access reviews too: they store nothing), and of every request on
   * 429 (turned away before it was processed).
   * Default 4 attempts from 200 ms. PUT is otherwise never retried: it is a compare-and-swap whose
   * callers handle `Conflict`. A create (POST) whose answer was lost on the way (a transport failure)
   * is sent again; an `AlreadyExists` then is read back and counts as created when the live object
   * holds what was sent and names this field manager (see {@link ProxyApi.create}).
   */
  readonly retry?: RetryPolicy;
  readonly clock?: Clock;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, initialDelayMs: 200, maxDelayMs: 2000 };

const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/**
 * The Kubernetes REST API through a running `kubectl proxy`: the proxy carries kubectl's
 * credentials (tokens, client certificates, exec plugins), and each call costs milliseconds instead
 * of a kubectl process. Used for the many small reads and writes of a release; kubectl itself still
 * does apply, diff, rollout undo and kustomize.
 */
export class ProxyApi {
  private readonly o: ProxyApiOptions;
  private readonly fieldManager: string;
  private readonly http: RetryingHttpClient;
  /** Requests made, for budgets and benchmarks. */
  requests = 0;
  /** What the server serves per group/version (`apps/v1`), asked once each: for kinds not built in. */
  private readonly served = new Map<string, Promise<readonly ResourceInfo[]>>();

  constructor(options: ProxyApiOptions) {
    this.o = options;
    this.fieldManager = options.fieldManager ?? 'dreamscape';
    const pathOf = (url: string): string => url.slice(options.baseUrl.length);
    this.http = new RetryingHttpClient({
      // Every attempt counts, retries and transport failures included.
      http: {
        request: (request) => {
          this.requests++;
          return options.http.request(request);
        },
      },
      policy: options.retry ?? DEFAULT_RETRY,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      retryableStatus: (res) => res.status === 429 || res.status >= 500,
      // 429 means the server turned the request away unprocessed (priority and fairness): safe to
      // send again whatever the method. A 5xx may come after the write took effect.
      repeatUnprocessed: true,
      onResponse: (request, res) => {
        this.o.logger.debug(`${request.method} ${pathOf(request.url)} → ${res.status}`);
      },
      onRetry: (request, cause, attempt, delay) => {
        this.o.logger.debug(
          `${request.method} ${pathOf(request.url)} failed (${cause.kind === 'status' ? `HTTP ${cause.response.status}` : String(cause.error)}); retry ${attempt} in ${delay}ms`,
        );
      },
    });
  }

  /** One object, or undefined when it does not exist. */
  async get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const path = await this.objectPath(ref);
    const res = await this.call('GET', path);
    if (res.status === 404) return undefined;
    return this.json<T>('GET', path, res);
  }

  /** The last lines of a pod's log (`GET .../pods/<pod>/log`), as text. */
  async podLog(
    namespace: string,
    pod: string,
    options: { readonly tailLines: number; readonly limitBytes: number; readonly container?: string },
  ): Promise<string> {
    const query = new URLSearchParams({
      tailLines: String(options.tailLines),
      limitBytes: String(options.limitBytes),
    });
    if (options.container !== undefined) query.set('container', options.container);
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${query.toString()}`;
    // A log is text, whatever JSON the other calls ask for (kubectl asks for `application/json, */*`).
    const exchange = await this.http.send(
      {
        method: 'GET',
        url: `${this.o.baseUrl}${path}`,
        headers: { Accept: 'application/json, */*' },
        timeoutMs: this.o.timeoutMs ?? 30_000,
      },
      { idempotent: true },
    );
    if (exchange.kind === 'transport') throw exchange.error;
    this.check('GET', path, exchange.response);
    return exchange.response.text();
  }

  /**
   * Where a kind is served: the built-in table, else the server's discovery document of its
   * apiVersion (a custom resource, or a kind the table leaves out), asked once per group/version.
   */
  async resourceOf(kind: string, apiVersion?: string): Promise<ResourceInfo> {
    const known = knownResource(kind);
    if (known !== undefined && (apiVersion === undefined || apiVersionOfInfo(known) === apiVersion))
      return known;
    if (apiVersion === undefined || apiVersion === '')
      throw new ActionError(`The API client does not know the resource '${kind}'.`);
    let found = this.served.get(apiVersion);
    if (found === undefined) {
      found = this.discover(apiVersion);
      this.served.set(apiVersion, found);
      found.catch(() => this.served.delete(apiVersion));
    }
    const info = (await found).find((r) => r.kind === kind);
    if (info === undefined)
      throw new KubeApiError(
        'GET',
        discoveryPath(apiVersion),
        0,
        'NotFound',
        `The cluster does not serve ${kind} in ${apiVersion}${apiVersion.includes('/') && !knownGroup(apiVersion) ? ' (is its CustomResourceDefinition installed?)' : ''}.`,
      );
    return info;
  }

  private async discover(apiVersion: string): Promise<readonly ResourceInfo[]> {
    const path = discoveryPath(apiVersion);
    const res = await this.call('GET', path);
    if (res.status === 404) return [];
    const list = this.json<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>(
      'GET',
      path,
      res,
    );
    const slash = apiVersion.indexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    return (list.resources ?? [])
      .filter((r) => !r.name.includes('/'))
      .map((r) => ({ kind: r.kind, plural: r.name, group, version, namespaced: r.namespaced }));
  }

  private async objectPath(ref: ObjectRef): Promise<string> {
    const info =
      ref.kind !== undefined && ref.kind !== ''
        ? await this.resourceOf(ref.kind, ref.apiVersion)
        : requireKnown(resourceOf(ref));
    return `${collectionPath(info, ref.namespace)}/${encodeURIComponent(ref.name)}`;
  }

  /** Objects of a resource, with the list's resourceVersion. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the view it expects
  async list<T extends KubeObject = KubeObject>(
    resource: string,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const info = requireKnown(resource);
    const query = new URLSearchParams();
    if (options.labelSelector !== undefined) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector !== undefined) query.set('fieldSelector', options.fieldSelector);
    const qs = query.toString();
    const path = `${collectionPath(info, options.namespace)}${qs === '' ? '' : `?${qs}`}`;
    const list = this.json<{ items: Partial<KubeObject>[]; metadata?: { resourceVersion?: string } }>(
      'GET',
      path,
      await this.call('GET', path),
    );
    const apiVersion = info.group === '' ? info.version : `${info.group}/${info.version}`;
    return {
      items: list.items.map(
        (i) => ({ ...i, apiVersion: i.apiVersion ?? apiVersion, kind: i.kind ?? info.kind }) as T,
      ),
      resourceVersion: list.metadata?.resourceVersion ?? '',
    };
  }

  /**
   * Creates an object (`AlreadyExists` when it is there). A create whose answer is lost (the
   * connection dropped after the request went out) may have landed: it is sent again, and if the
   * server then says `AlreadyExists`, the live object is read back. It is taken as this create's
   * when it holds everything that was sent (labels, annotations and every other field) and this
   * field manager wrote it; otherwise the `AlreadyExists` stands. An object without a fixed name
   * (`generateName`) is never sent twice.
   */
  async create<T extends KubeObject = KubeObject>(object: KubeObject): Promise<T> {
    const info = await this.resourceOf(object.kind, object.apiVersion);
    const path = `${collectionPath(info, object.metadata.namespace)}?fieldManager=${encodeURIComponent(this.fieldManager)}`;
    const body = JSON.stringify(object);
    const policy = this.o.retry ?? DEFAULT_RETRY;
    const name = object.metadata.name;
    let lost: HttpTransportError | undefined;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.call('POST', path, body, 'application/json');
      } catch (error) {
        if (!(error instanceof HttpTransportError) || name === '' || attempt >= policy.attempts) throw error;
        lost = error;
        const delay = backoffDelay(policy, attempt);
        this.o.logger.debug(`POST ${path}: the answer was lost (${error.message}); sent again in ${delay}ms`);
        await (this.o.clock ?? systemClock).sleep(delay);
        continue;
      }
      if (lost !== undefined && res.status === 409) {
        const live = await this.get<T>({
          kind: object.kind,
          apiVersion: object.apiVersion,
          name,
          ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
        });
        if (live !== undefined && createdAsSent(object, live, this.fieldManager)) {
          this.o.logger.debug(`POST ${path}: the create whose answer was lost had landed`);
          return live;
        }
      }
      return this.json<T>('POST', path, res);
    }
  }

  /** PUT; with `metadata.resourceVersion` a compare-and-swap that fails with `Conflict`. */
  async replace<T extends KubeObject = KubeObject>(object: KubeObject): Promise<T> {
    const path = `${await this.objectPath({ kind: object.kind, apiVersion: object.apiVersion, name: object.metadata.name, ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }) })}?fieldManager=${encodeURIComponent(this.fieldManager)}`;
    return this.json<T>(
      'PUT',
      path,
      await this.call('PUT', path, JSON.stringify(object), 'application/json'),
    );
  }

  /** Patches an object (or its `scale`/`status` subresource). A failed JSON-patch `test` is reason `PreconditionFailed`. */
  async patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: object | readonly { op: string; path: string; value?: unknown }[],
    options: { type: 'merge' | 'json' | 'strategic'; subresource?: string },
  ): Promise<T> {
    const sub = options.subresource === undefined ? '' : `/${options.subresource}`;
    const path = `${await this.objectPath(ref)}${sub}?fieldManager=${encodeURIComponent(this.fieldManager)}`;
    const res = await this.call('PATCH', path, JSON.stringify(patch), PATCH_TYPES[options.type]);
    if (
      res.status === 422 &&
      options.type === 'json' &&
      /test operation|testing value|test failed/i.test(res.text())
    ) {
      throw new KubeApiError('PATCH', path, 422, 'PreconditionFailed', statusMessage(res));
    }
    return this.json<T>('PATCH', path, res);
  }

  /**
   * Server-side apply of many objects at once, as kubectl sends it (`PATCH` with
   * `application/apply-patch+yaml`, a JSON body, `fieldValidation=Strict`), several requests in
   * flight; Namespaces first. With `dryRun` the server validates and stores nothing; `fieldManager`
   * applies as another manager than the client's own. Every failure is collected and reported
   * together, naming each object.
   */
  async applyServerSide(
    objects: readonly KubeObject[],
    options: { dryRun?: boolean; forceConflicts?: boolean; concurrency?: number; fieldManager?: string } = {},
  ): Promise<KubeObject[]> {
    const query = new URLSearchParams({
      fieldManager: options.fieldManager ?? this.fieldManager,
      fieldValidation: 'Strict',
      force: options.forceConflicts === true ? 'true' : 'false',
    });
    if (options.dryRun === true) query.set('dryRun', 'All');
    const applyOne = async (o: KubeObject): Promise<KubeObject> => {
      const ref: ObjectRef = {
        kind: o.kind,
        apiVersion: o.apiVersion,
        name: o.metadata.name,
        ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }),
      };
      const path = `${await this.objectPath(ref)}?${query.toString()}`;
      return this.json<KubeObject>(
        'PATCH',
        path,
        await this.call('PATCH', path, JSON.stringify(o), 'application/apply-patch+yaml'),
      );
    };
    // Namespaces, then CustomResourceDefinitions, before anything that may live in or depend on them.
    const first = objects.filter((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition');
    const rest = objects.filter((o) => !first.includes(o));
    const results: KubeObject[] = [];
    const failures: string[] = [];
    for (const o of first.sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace')))
      results.push(await applyOne(o));
    const limit = Math.max(1, options.concurrency ?? 8);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < rest.length) {
        const o = rest[next++] as KubeObject;
        try {
          results.push(await applyOne(o));
        } catch (error) {
          failures.push(
            `${o.kind}/${o.metadata.name}: ${error instanceof KubeApiError ? `${error.reason}: ${error.message.replace(/^.*?failed: \d+ \S+: /, '')}` : String(error)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, rest.length) }, worker));
    if (failures.length > 0) {
      const reason = failures.some((f) => f.includes(': Conflict:'))
        ? 'Conflict'
        : failures.some((f) => f.includes(': Invalid:'))
          ? 'Invalid'
          : 'ApplyFailed';
      throw new KubeApiError(
        'PATCH',
        `(apply of ${objects.length} objects)`,
        0,
        reason,
        `The API server refused ${failures.length} of ${objects.length} objects:\n${failures.join('\n')}`,
      );
    }
    return results;
  }

  /**
   * `kubectl auth can-i` for many checks at once: one SelfSubjectAccessReview each, in parallel.
   * Returns the denied ones.
   */
  async canIAll(
    checks: readonly { verb: string; resource: string; namespace?: string; subresource?: string }[],
  ): Promise<{ verb: string; resource: string; namespace?: string; subresource?: string; reason: string }[]> {
    const path = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
    const denied = await Promise.all(
      checks.map(async (c) => {
        const dot = c.resource.indexOf('.');
        const review = {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              verb: c.verb,
              resource: dot < 0 ? c.resource : c.resource.slice(0, dot),
              group: dot < 0 ? '' : c.resource.slice(dot + 1),
              ...(c.namespace === undefined ? {} : { namespace: c.namespace }),
              ...(c.subresource === undefined ? {} : { subresource: c.subresource }),
            },
          },
        };
        const answer = this.json<{ status?: { allowed?: boolean; reason?: string } }>(
          'POST',
          path,
          await this.call('POST', path, JSON.stringify(review), 'application/json', true),
        );
        return answer.status?.allowed === true ? undefined : { ...c, reason: answer.status?.reason ?? '' };
      }),
    );
    return denied.filter((d): d is NonNullable<typeof d> => d !== undefined);
  }

  /** The API server's version (`GET /version`). */
  async serverVersion(): Promise<string> {
    const v = this.json<{ gitVersion?: string }>('GET', '/version', await this.call('GET', '/version'));
    return v.gitVersion ?? 'unknown';
  }

  /** Deletes an object; false when it was already gone and `ignoreNotFound` is set. */
  async delete(ref: ObjectRef, options: { ignoreNotFound?: boolean } = {}): Promise<boolean> {
    const path = await this.objectPath(ref);
    const res = await this.call(
      'DELETE',
      path,
      JSON.stringify({ propagationPolicy: 'Background' }),
      'application/json',
    );
    if (res.status === 404 && options.ignoreNotFound === true) return false;
    this.check('DELETE', path, res);
    return true;
  }

  private async call(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: string,
    contentType?: string,
    /** A POST that stores nothing (an access review): as safe to repeat as a GET. */
    query = false,
  ): Promise<HttpResponse> {
    const idempotent =
      query ||
      method === 'GET' ||
      method === 'DELETE' ||
      (method === 'PATCH' && contentType !== PATCH_TYPES.json);
    const exchange = await this.http.send(
      {
        method,
        url: `${this.o.baseUrl}${path}`,
        headers: {
          Accept: 'application/json',
          ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
        },
        ...(body === undefined ? {} : { body }),
        timeoutMs: this.o.timeoutMs ?? 30_000,
      },
      { idempotent },
    );
    // Out of attempts on a retryable status, the last answer is the caller's to judge (KubeApiError).
    if (exchange.kind === 'transport') throw exchange.error;
    return exchange.response;
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
  private json<T>(method: string, path: string, res: HttpResponse): T {
    this.check(method, path, res);
    return JSON.parse(res.text()) as T;
  }

  private check(method: string, path: string, res: HttpResponse): void {
    if (res.status >= 200 && res.status < 300) return;
    let reason = `HTTP${res.status}`;
    try {
      const status = JSON.parse(res.text()) as { reason?: string };
      if (typeof status.reason === 'string' && status.reason !== '') reason = status.reason;
    } catch {
      // not a Status body: keep the HTTP code
    }
    throw new KubeApiError(method, path, res.status, reason, statusMessage(res));
  }
}

/**
 * Whether `live` is what a create of `sent` by `manager` would have stored: every field sent (but
 * `metadata`, which the server fills in) is there with the value sent, labels and annotations
 * included, and `manager` is among the object's field managers.
 */
export function createdAsSent(sent: KubeObject, live: KubeObject, manager: string): boolean {
  const managers = (live.metadata as { managedFields?: { manager?: string }[] }).managedFields ?? [];
  if (!managers.some((m) => m.manager === manager)) return false;
  const meta = (o: KubeObject, key: 'labels' | 'annotations'): unknown => o.metadata[key] ?? {};
  if (!contains(meta(live, 'labels'), meta(sent, 'labels'))) return false;
  if (!contains(meta(live, 'annotations'), meta(sent, 'annotations'))) return false;
  for (const [key, value] of Object.entries(sent as unknown as Record<string, unknown>)) {
    if (key === 'metadata' || key === 'status') continue;
    if (!contains((live as unknown as Record<string, unknown>)[key], value)) return false;
  }
  return true;
}

/** `whole` holds `part`: objects key by key, arrays item by item, anything else equal. */
function contains(whole: unknown, part: unknown): boolean {
  if (Array.isArray(part))
    return (
      Array.isArray(whole) && whole.length === part.length && part.every((p, i) => contains(whole[i], p))
    );
  if (typeof part === 'object' && part !== null) {
    const entries = Object.entries(part);
    if (typeof whole !== 'object' || whole === null || Array.isArray(whole))
      return whole === undefined && entries.length === 0;
    return entries.every(([k, v]) => contains((whole as Record<string, unknown>)[k], v));
  }
  return whole === part;
}

function statusMessage(res: HttpResponse): string {
  const text = res.text();
  try {
    const status = JSON.parse(text) as { message?: string };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // fall through
  }
  return text.slice(0, 300);
}

function requireKnown(kindOrResource: string): ResourceInfo {
  const info = knownResource(kindOrResource);
  if (info === undefined)
    throw new ActionError(`The API client does not know the resource '${kindOrResource}'.`);
  return info;
}

/** `/api/v1` or `/apis/<group>/<version>`: the discovery document of a group/version. */
function discoveryPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

function apiVersionOfInfo(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** Whether a group/version belongs to a group the built-in table knows. */
function knownGroup(apiVersion: string): boolean {
  const group = apiVersion.slice(0, apiVersion.indexOf('/'));
  return knownResourceInGroup(group);
}
