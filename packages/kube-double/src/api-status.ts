import type { JsonObject } from './json-value.js';
import { qualifiedName, type ResourceType } from './resource-table.js';

/** One `details.causes` entry of a metav1.Status. */
export interface StatusCause {
  readonly reason?: string;
  readonly message: string;
  readonly field?: string;
}

/** The fields of a metav1.Status failure. */
export interface StatusFields {
  readonly code: number;
  readonly reason: string;
  readonly message: string;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly uid?: string;
    readonly causes?: readonly StatusCause[];
    readonly retryAfterSeconds?: number;
  };
}

/**
 * A request that fails with a metav1.Status body, exactly as the real API server answers it, so that
 * kubectl prints `Error from server (<reason>): <message>`.
 */
export class ApiError extends Error {
  readonly status: StatusFields;

  constructor(status: StatusFields) {
    super(status.message);
    this.name = 'ApiError';
    this.status = status;
  }

  /** The metav1.Status body. */
  toStatus(): JsonObject {
    return statusBody(this.status);
  }
}

/** A metav1.Status failure body. */
export function statusBody(status: StatusFields): JsonObject {
  const body: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: status.message,
    reason: status.reason,
  };
  if (status.details !== undefined) body.details = JSON.parse(JSON.stringify(status.details)) as JsonObject;
  body.code = status.code;
  return body;
}

/** The metav1.Status success body a DELETE answers with. */
export function successStatus(type: ResourceType, name: string, uid: string): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group: type.group, kind: type.plural, uid },
  };
}

/** 404 for a named object: `deployments.apps "web" not found`. */
export function notFound(type: ResourceType, name: string): ApiError {
  return new ApiError({
    code: 404,
    reason: 'NotFound',
    message: `${qualifiedName(type)} "${name}" not found`,
    details: { name, group: type.group, kind: type.plural },
  });
}

/** 404 for a path nothing is served at. */
export function pathNotFound(): ApiError {
  return new ApiError({
    code: 404,
    reason: 'NotFound',
    message: 'the server could not find the requested resource',
  });
}

/** 409 on create: `deployments.apps "web" already exists`. */
export function alreadyExists(type: ResourceType, name: string): ApiError {
  return new ApiError({
    code: 409,
    reason: 'AlreadyExists',
    message: `${qualifiedName(type)} "${name}" already exists`,
    details: { name, group: type.group, kind: type.plural },
  });
}

/** 409 on a stale resourceVersion (or an injected conflict). */
export function conflict(type: ResourceType, name: string): ApiError {
  return new ApiError({
    code: 409,
    reason: 'Conflict',
    message: `Operation cannot be fulfilled on ${qualifiedName(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    details: { name, group: type.group, kind: type.plural },
  });
}

/** 422 with field causes; kubectl prints `The Deployment "web" is invalid: <field>: <message>`. */
export function invalid(type: ResourceType, name: string, causes: readonly StatusCause[]): ApiError {
  const list = causes.map((c) => (c.field === undefined ? c.message : `${c.field}: ${c.message}`));
  const summary = list.length === 1 ? (list[0] ?? '') : `[${list.join(', ')}]`;
  const prefix = type.group === '' ? type.kind : `${type.kind}.${type.group}`;
  return new ApiError({
    code: 422,
    reason: 'Invalid',
    message: `${prefix} "${name}" is invalid: ${summary}`,
    details: { name, group: type.group, kind: type.kind, causes },
  });
}

/** 400 with a message. */
export function badRequest(message: string): ApiError {
  return new ApiError({ code: 400, reason: 'BadRequest', message });
}

/** 405 for a verb a resource does not support. */
export function methodNotAllowed(message: string): ApiError {
  return new ApiError({ code: 405, reason: 'MethodNotAllowed', message });
}

/** 415 for a PATCH content type the server does not take (strategic merge: not for custom resources). */
export function unsupportedMediaType(
  contentType: string,
  options: { readonly strategic?: boolean } = {},
): ApiError {
  const accepted = [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
    ...(options.strategic === false ? [] : ['application/strategic-merge-patch+json']),
  ];
  return new ApiError({
    code: 415,
    reason: 'UnsupportedMediaType',
    message: `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')} (got ${contentType})`,
  });
}

/** 503 ServiceUnavailable with a message. */
export function serviceUnavailable(message: string): ApiError {
  return new ApiError({ code: 503, reason: 'ServiceUnavailable', message });
}
