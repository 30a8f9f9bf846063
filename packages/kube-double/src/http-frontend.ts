import type { IncomingMessage, ServerResponse } from 'node:http';
import { load as loadYaml } from 'js-yaml';
import type { ActivityLog } from './activity-log.js';
import {
  PATCH_TYPES,
  type ApiServer,
  type DeleteOptions,
  type FieldValidation,
  type WriteOptions,
  type WriteResult,
} from './api-server.js';
import type { AccessRules } from './access-review.js';
import { ApiError, badRequest, methodNotAllowed, pathNotFound } from './api-status.js';
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedDiscovery,
  legacyCoreVersions,
  legacyGroupDocument,
  legacyGroupList,
  legacyResourceList,
} from './discovery.js';
import type { FaultInjector, FaultTarget } from './faults.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json-value.js';
import { openApiGroupVersion, openApiRoot } from './openapi-stub.js';
import { parsePodLogOptions, podLogBody, type PodLogs } from './pod-logs.js';
import { PROTOBUF_CONTENT_TYPE, decodeProtobufBody } from './protobuf-body.js';
import type { ResourceCatalog } from './resource-catalog.js';
import { apiVersionOf, type ResourceType } from './resource-table.js';
import type { ServiceProxy } from './service-proxy.js';
import { includeObjectOf, toTable, wantsTable } from './table.js';
import { serveWatch } from './watch-stream.js';
import { parseListOptions } from './list-options.js';

/** A parsed request for a resource. */
interface ResourceRequest {
  readonly type: ResourceType;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
  /** For the proxy subresource: the path after `/proxy`, starting with `/`. */
  readonly proxyPath?: string;
}

/** The inspection endpoints under `/_double/`. */
export type InspectionHandler = (
  method: string,
  path: string,
  body: string,
) => { status: number; body: JsonValue };

/** What the HTTP front end needs. */
export interface FrontendDependencies {
  readonly api: ApiServer;
  readonly access: AccessRules;
  /** What containers printed, for the pods/log subresource. */
  readonly podLogs: PodLogs;
  readonly proxy: ServiceProxy;
  readonly faults: FaultInjector;
  readonly log: ActivityLog;
  readonly inspect: InspectionHandler;
  readonly bookmarkIntervalMs: number;
  /** The `/version` answer. */
  readonly version: JsonObject;
  readonly onError: (error: unknown) => void;
}

const MAX_BODY = 16 * 1024 * 1024;

function sendJson(
  res: ServerResponse,
  status: number,
  body: JsonValue,
  contentType = 'application/json',
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, error: ApiError): void {
  if (error.status.details?.retryAfterSeconds !== undefined && !res.headersSent)
    res.setHeader('Retry-After', String(error.status.details.retryAfterSeconds));
  sendJson(res, error.status.code, error.toStatus());
}

function readBody(req: IncomingMessage): Promise<string> {
  return readBodyBytes(req).then((bytes) => bytes.toString('utf8'));
}

function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(
          new ApiError({
            code: 413,
            reason: 'RequestEntityTooLarge',
            message: 'the request body is too large',
          }),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function parseJsonBody(text: string): JsonValue {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded: ${(error as Error).message}`);
  }
}

/** Splits an API path into its resource parts, or undefined for non-resource paths. */
function parseResourcePath(
  catalog: ResourceCatalog,
  pathname: string,
): ResourceRequest | 'not-found' | undefined {
  const trailingSlash = pathname.endsWith('/') && pathname.length > 1;
  const segments = pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    version = segments[1] ?? '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1] ?? '';
    version = segments[2] ?? '';
    rest = segments.slice(3);
  } else return undefined;

  let namespace: string | undefined;
  let plural: string;
  let tail: string[];
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    catalog.find(group, version, rest[2] ?? '') !== undefined
  ) {
    namespace = rest[1];
    plural = rest[2] ?? '';
    tail = rest.slice(3);
  } else {
    plural = rest[0] ?? '';
    tail = rest.slice(1);
  }
  const type = catalog.find(group, version, plural);
  if (type === undefined) return 'not-found';
  if (namespace !== undefined && !type.namespaced) return 'not-found';
  const [name, subresource, ...proxyTail] = tail;
  if (subresource !== undefined && !type.subresources.includes(subresource as 'status')) return 'not-found';
  if (subresource !== 'proxy' && proxyTail.length > 0) return 'not-found';
  return {
    type,
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
    ...(subresource === undefined ? {} : { subresource }),
    ...(subresource === 'proxy'
      ? { proxyPath: `/${proxyTail.join('/')}${trailingSlash && proxyTail.length > 0 ? '/' : ''}` }
      : {}),
  };
}

function verbOf(method: string, request: ResourceRequest, query: URLSearchParams): string {
  if (request.subresource === 'proxy') return 'proxy';
  const watch = query.get('watch');
  switch (method) {
    case 'GET':
      if (request.name !== undefined) return 'get';
      return watch === 'true' || watch === '1' ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return request.name === undefined ? 'deletecollection' : 'delete';
    default:
      return method.toLowerCase();
  }
}

function fieldValidationOf(value: string | null): FieldValidation {
  if (value === null || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw badRequest(
    `fieldValidation must be one of "Ignore", "Warn" or "Strict", got ${JSON.stringify(value)}`,
  );
}

function dryRunOf(values: string[]): boolean {
  for (const v of values)
    if (v !== 'All') throw badRequest(`unsupported dry run option "${v}": only "All" is supported`);
  return values.length > 0;
}

/** The field manager the real server derives from a User-Agent when none is given. */
function defaultManager(userAgent: string): string {
  const prefix = userAgent.split('/')[0] ?? '';
  return prefix === '' ? 'unknown' : prefix;
}

/**
 * The HTTP side of the double: routing, discovery, OpenAPI, content negotiation (JSON, Table,
 * aggregated discovery), watches, the service proxy, fault injection and the request/write logs.
 */
export function createRequestHandler(
  deps: FrontendDependencies,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://kube-double');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname.startsWith('/_double/') || url.pathname === '/_double') {
      void readBody(req)
        .then((body) => {
          const answer = deps.inspect(method, url.pathname, body);
          sendJson(res, answer.status, answer.body);
        })
        .catch((error: unknown) => {
          sendJson(res, 400, { error: (error as Error).message });
        });
      return;
    }
    let logged = false;
    const logRequest = (): void => {
      if (logged) return;
      logged = true;
      deps.log.request({
        time: new Date(started).toISOString(),
        method,
        path: `${url.pathname}${url.search}`,
        contentType: req.headers['content-type'] ?? '',
        status: res.statusCode,
        userAgent: req.headers['user-agent'] ?? '',
        durationMs: Date.now() - started,
      });
    };
    res.on('finish', logRequest);
    res.on('close', logRequest);
    void handle(deps, req, res, url, method).catch((error: unknown) => {
      if (error instanceof ApiError) {
        sendError(res, error);
        return;
      }
      deps.onError(error);
      sendError(
        res,
        new ApiError({
          code: 500,
          reason: 'InternalError',
          message: `Internal error occurred: ${(error as Error).message}`,
        }),
      );
    });
  };
}

async function handle(
  deps: FrontendDependencies,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
): Promise<void> {
  const parsed = parseResourcePath(deps.api.catalog, url.pathname);
  const resource = parsed === 'not-found' ? undefined : parsed;
  const target: FaultTarget =
    resource === undefined
      ? { verb: method === 'GET' ? 'get' : method.toLowerCase(), path: url.pathname }
      : {
          verb: verbOf(method, resource, url.searchParams),
          resource: resource.type,
          ...(resource.subresource === undefined ? {} : { subresource: resource.subresource }),
          ...(resource.namespace === undefined ? {} : { namespace: resource.namespace }),
          ...(resource.name === undefined ? {} : { name: resource.name }),
          path: url.pathname,
        };
  const decision = deps.faults.decide(target);
  if (decision.latencyMs > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, decision.latencyMs);
      res.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (res.destroyed) return;
  }
  if (decision.hang) return;
  if (decision.dropAnswer) cutAnswerMidBody(res);
  if (decision.error !== undefined) {
    if (req.readable) await readBody(req).catch(() => '');
    sendError(res, decision.error);
    return;
  }
  if (parsed === 'not-found') throw pathNotFound();
  if (parsed === undefined) {
    serveNonResource(deps.api.catalog, deps.version, req, res, url);
    return;
  }
  await serveResource(deps, req, res, url, method, parsed, target.verb, decision.dropWatchAfterMs);
}

/**
 * Makes `res` send its status, headers and the first half of its body, then drop the connection:
 * the request was served (a write landed) but the client never reads a whole answer.
 */
function cutAnswerMidBody(res: ServerResponse): void {
  const end = (chunk?: unknown): ServerResponse => {
    const body =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk)
          : Buffer.alloc(0);
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
      res.destroy();
    });
    return res;
  };
  res.end = end as ServerResponse['end'];
}

function serveNonResource(
  catalog: ResourceCatalog,
  version: JsonObject,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): void {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const accept = req.headers.accept ?? '';
  const aggregated = accept.includes('as=APIGroupDiscoveryList');
  if (path === '/version') {
    sendJson(res, 200, version);
    return;
  }
  if (path === '/healthz' || path === '/livez' || path === '/readyz') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('ok');
    return;
  }
  if (path === '/api' || path === '/apis') {
    const core = path === '/api';
    if (aggregated) sendJson(res, 200, aggregatedDiscovery(catalog, core), AGGREGATED_DISCOVERY_CONTENT_TYPE);
    else sendJson(res, 200, core ? legacyCoreVersions() : legacyGroupList(catalog));
    return;
  }
  if (path === '/openapi/v3') {
    sendJson(res, 200, openApiRoot(catalog));
    return;
  }
  const segments = path.split('/').filter((s) => s !== '');
  if (segments[0] === 'openapi' && segments[1] === 'v3') {
    const doc =
      segments[2] === 'api' && segments.length === 4
        ? openApiGroupVersion(catalog, '', segments[3] ?? '')
        : segments[2] === 'apis' && segments.length === 5
          ? openApiGroupVersion(catalog, segments[3] ?? '', segments[4] ?? '')
          : undefined;
    if (doc !== undefined) {
      sendJson(res, 200, doc);
      return;
    }
  }
  if (segments[0] === 'api' && segments.length === 2) {
    const list = legacyResourceList(catalog, '', segments[1] ?? '');
    if (list !== undefined) {
      sendJson(res, 200, list);
      return;
    }
  }
  if (segments[0] === 'apis' && segments.length === 2) {
    const group = legacyGroupDocument(catalog, segments[1] ?? '');
    if (group !== undefined) {
      sendJson(res, 200, group);
      return;
    }
  }
  if (segments[0] === 'apis' && segments.length === 3) {
    const list = legacyResourceList(catalog, segments[1] ?? '', segments[2] ?? '');
    if (list !== undefined) {
      sendJson(res, 200, list);
      return;
    }
  }
  sendError(res, pathNotFound());
}

async function serveResource(
  deps: FrontendDependencies,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
  request: ResourceRequest,
  verb: string,
  dropWatchAfterMs: number | undefined,
): Promise<void> {
  const { api } = deps;
  // Every version of a custom resource reads and writes the objects of its storage version; what
  // goes out is shown in the version asked for.
  const served = request.type;
  const type = api.catalog.storageOf(served);
  const shown = (object: JsonObject): JsonObject =>
    served === type || !isJsonObject(object) || object.kind !== served.kind
      ? object
      : { ...object, apiVersion: apiVersionOf(served) };
  const query = url.searchParams;
  const namespace = request.namespace ?? '';
  const userAgent = req.headers['user-agent'] ?? '';
  if (type.namespaced && request.namespace === undefined && !['list', 'watch'].includes(verb))
    throw pathNotFound();

  if (request.subresource === 'proxy') {
    if (request.name === undefined) throw pathNotFound();
    await deps.proxy.serve(req, res, namespace, request.name, request.proxyPath ?? '/');
    return;
  }

  if (!type.verbs.includes(verb))
    throw methodNotAllowed(
      `the server does not allow this method on the requested resource (${verb} ${type.plural})`,
    );
  if (request.subresource === 'log') {
    if (verb !== 'get') throw methodNotAllowed('pod logs can only be read');
    const name = request.name ?? '';
    // Options are checked before the pod is looked up, as the real server does. With follow=true
    // the double answers what has been printed so far and closes, as if the container had ended.
    const options = parsePodLogOptions(query, name);
    const body = podLogBody(api.get(type, namespace, name), options, deps.podLogs);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
    return;
  }

  const table = wantsTable(req.headers.accept);
  const include = includeObjectOf(query.get('includeObject'));
  const selectors = {
    ...(query.get('labelSelector') === null ? {} : { labelSelector: query.get('labelSelector') ?? '' }),
    ...(query.get('fieldSelector') === null ? {} : { fieldSelector: query.get('fieldSelector') ?? '' }),
  };
  const scopeNamespace = type.namespaced ? request.namespace : undefined;

  if (verb === 'watch') {
    const timeout = query.get('timeoutSeconds');
    const options = parseListOptions(query, true);
    serveWatch(
      api.store,
      {
        type: served,
        namespace: scopeNamespace,
        matches: api.matcher(type, selectors),
        resourceVersion: options.resourceVersion,
        ...(options.sendInitialEvents === undefined ? {} : { sendInitialEvents: options.sendInitialEvents }),
        timeoutSeconds: timeout === null ? undefined : Number(timeout),
        allowBookmarks: options.allowWatchBookmarks,
        bookmarkIntervalMs: deps.bookmarkIntervalMs,
        present: table ? (o: JsonObject) => toTable(served, [o], include, Date.now()) : shown,
        ...(dropWatchAfterMs === undefined ? {} : { dropAfterMs: dropWatchAfterMs }),
      },
      res,
    );
    return;
  }
  if (verb === 'list') {
    parseListOptions(query, false);
    const { items, resourceVersion } = api.list(type, scopeNamespace, selectors);
    if (table) {
      sendJson(res, 200, toTable(served, items, include, Date.now(), resourceVersion));
      return;
    }
    sendJson(res, 200, {
      kind: served.listKind,
      apiVersion: apiVersionOf(served),
      metadata: { resourceVersion },
      items: items.map(shown),
    });
    return;
  }
  if (verb === 'get') {
    const object = api.get(type, namespace, request.name ?? '');
    if (request.subresource === 'scale') {
      sendJson(res, 200, api.scaleOf(object));
      return;
    }
    if (table) {
      sendJson(res, 200, toTable(served, [object], include, Date.now()));
      return;
    }
    sendJson(res, 200, shown(object));
    return;
  }

  const bytes = await readBodyBytes(req);
  const body = bytes.toString('utf8');
  const contentType = req.headers['content-type'] ?? '';
  const protobuf = contentType.startsWith(PROTOBUF_CONTENT_TYPE);
  const decode = (): JsonValue =>
    inStorageVersion(protobuf ? decodeProtobufBody(bytes, contentType) : parseJsonBody(body), served, type);
  if (type.virtual) {
    const review = decode();
    sendJson(res, 201, deps.access.review(isJsonObject(review) ? review : {}));
    return;
  }
  const dryRun = dryRunOf(query.getAll('dryRun'));
  const name = request.name ?? '';
  const isApply = verb === 'patch' && contentType.startsWith(PATCH_TYPES.apply);
  const options: WriteOptions = {
    dryRun,
    fieldManager: query.get('fieldManager') ?? (isApply ? '' : defaultManager(userAgent)),
    fieldValidation: fieldValidationOf(query.get('fieldValidation')),
    force: query.get('force') === 'true',
  };
  const target =
    request.subresource === 'status' || request.subresource === 'scale' ? request.subresource : undefined;
  const record = (
    status: number,
    objectName: string,
    extra: { verb?: string; dryRun?: boolean; fieldManager?: string; changed?: boolean } = {},
  ): void => {
    deps.log.write({
      time: new Date().toISOString(),
      verb: extra.verb ?? (isApply ? 'apply' : verb),
      kind: type.kind,
      namespace,
      name: objectName,
      ...(request.subresource === undefined ? {} : { subresource: request.subresource }),
      fieldManager: extra.fieldManager ?? options.fieldManager,
      dryRun: extra.dryRun ?? dryRun,
      ...(verb === 'patch' ? { patchType: contentType.split(';')[0] ?? '' } : {}),
      status,
      changed: extra.changed ?? false,
    });
  };
  const respond = (result: WriteResult, objectName: string): void => {
    record(result.code, objectName, { changed: result.changed });
    if (result.warnings.length > 0)
      res.setHeader(
        'Warning',
        result.warnings.map((w) => `299 - ${JSON.stringify(w)}`),
      );
    sendJson(res, result.code, shown(result.object));
  };
  try {
    switch (verb) {
      case 'create': {
        const result = api.create(type, namespace, decode(), options);
        respond(result, stringAt(result.object, 'name'));
        return;
      }
      case 'update':
        respond(api.update(type, namespace, name, decode(), options, target), name);
        return;
      case 'patch':
        respond(
          api.patch(
            type,
            namespace,
            name,
            contentType,
            applyInStorageVersion(body, isApply, served, type),
            options,
            target,
          ),
          name,
        );
        return;
      case 'delete':
      case 'deletecollection': {
        const deleteOptions = parseDeleteOptions(body, query);
        if (verb === 'delete') {
          const result = api.delete(type, namespace, name, deleteOptions);
          record(result.code, name, {
            dryRun: deleteOptions.dryRun,
            fieldManager: '',
            changed: !deleteOptions.dryRun,
          });
          sendJson(res, result.code, result.body);
        } else {
          const result = api.deleteCollection(type, scopeNamespace, selectors, deleteOptions);
          record(200, '', { dryRun: deleteOptions.dryRun, fieldManager: '', changed: !deleteOptions.dryRun });
          sendJson(res, 200, result);
        }
        return;
      }
      default:
        throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
  } catch (error) {
    if (error instanceof ApiError) record(error.status.code, name);
    throw error;
  }
}

/** A body written through another version of a custom resource, in its storage version. */
function inStorageVersion(body: JsonValue, served: ResourceType, storage: ResourceType): JsonValue {
  if (served === storage || !isJsonObject(body) || body.apiVersion !== apiVersionOf(served)) return body;
  return { ...body, apiVersion: apiVersionOf(storage) };
}

/** The same for an apply patch (YAML or JSON text). */
function applyInStorageVersion(
  raw: string,
  isApply: boolean,
  served: ResourceType,
  storage: ResourceType,
): string {
  if (!isApply || served === storage) return raw;
  let parsed: unknown;
  try {
    parsed = loadYaml(raw);
  } catch {
    return raw; // the API answers the parse error
  }
  if (!isJsonObject(parsed)) return raw;
  return JSON.stringify(inStorageVersion(parsed, served, storage));
}

function stringAt(object: JsonObject, key: 'name'): string {
  const metadata = object.metadata;
  return isJsonObject(metadata) && typeof metadata[key] === 'string' ? metadata[key] : '';
}

function parseDeleteOptions(body: string, query: URLSearchParams): DeleteOptions {
  const parsed = parseJsonBody(body);
  const options = isJsonObject(parsed) ? parsed : {};
  let policy = options.propagationPolicy ?? query.get('propagationPolicy') ?? undefined;
  if (options.orphanDependents === true || query.get('orphanDependents') === 'true') policy = 'Orphan';
  if (policy !== undefined && policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan')
    throw badRequest(
      `propagationPolicy must be Background, Foreground or Orphan, got ${JSON.stringify(policy)}`,
    );
  const dryRunValues = Array.isArray(options.dryRun) ? options.dryRun.map(String) : query.getAll('dryRun');
  const pre = isJsonObject(options.preconditions) ? options.preconditions : undefined;
  return {
    ...(policy === undefined ? {} : { propagationPolicy: policy }),
    dryRun: dryRunOf(dryRunValues),
    ...(pre === undefined
      ? {}
      : {
          preconditions: {
            ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
            ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
          },
        }),
  };
}
