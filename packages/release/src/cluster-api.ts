/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters -- callers name the object view they expect, as with kubectl get */
import { isTransientReason, type KubeObject, type ObjectRef } from '@dreamscape/kube';

/**
 * The reads and writes the release engine makes, as a small interface: the kubectl driver implements
 * it with one process per call, and the engine switches to an HTTP client over `kubectl proxy` once
 * one runs (milliseconds per call, the same credentials).
 */
export interface ClusterApi {
  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubeObject = KubeObject>(
    resource: string,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string },
  ): Promise<{ items: T[]; resourceVersion: string }>;
  create<T extends KubeObject = KubeObject>(object: KubeObject): Promise<T>;
  /** A PUT; with `metadata.resourceVersion` set it fails with reason `Conflict` when the object changed. */
  replace<T extends KubeObject = KubeObject>(object: KubeObject): Promise<T>;
  patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: object | readonly { op: string; path: string; value?: unknown }[],
    options: { type: 'merge' | 'json' | 'strategic'; subresource?: string },
  ): Promise<T>;
  delete(ref: ObjectRef, options?: { ignoreNotFound?: boolean }): Promise<boolean>;
  /**
   * The last lines of a pod's log (`tailLines`, at most `limitBytes`), as text; absent from clients
   * that cannot read logs (a failed Job is then reported without them).
   */
  podLog?(
    namespace: string,
    pod: string,
    options: { readonly tailLines: number; readonly limitBytes: number; readonly container?: string },
  ): Promise<string>;
  /**
   * Server-side apply (field manager `dreamscape`, or `fieldManager`); with `dryRun` nothing is
   * stored; with `forceConflicts` fields other managers hold are taken over.
   */
  applyServerSide(
    objects: readonly KubeObject[],
    options?: { dryRun?: boolean; forceConflicts?: boolean; fieldManager?: string },
  ): Promise<KubeObject[]>;
}

/** What preflight needs on top of {@link ClusterApi}. */
export interface PreflightApi extends ClusterApi {
  serverVersion(): Promise<string>;
  /** The denied ones among the permission checks. */
  canIAll(
    checks: readonly { verb: string; resource: string; namespace?: string; subresource?: string }[],
  ): Promise<readonly { verb: string; resource: string; subresource?: string }[]>;
}

/** The Kubernetes reason (`NotFound`, `Conflict`, `AlreadyExists`, ...) carried by an error, if any. */
export function reasonOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'reason' in error) {
    const reason = error.reason;
    return typeof reason === 'string' ? reason : undefined;
  }
  return undefined;
}

/** Whether an API error may go away when the same request is sent again (5xx, 429, timeouts). */
export function isTransient(error: unknown): boolean {
  return isTransientReason(reasonOf(error));
}

/**
 * Like `Promise.all`, but settles every promise before it rejects (with the first error): a batch
 * of writes must not leave one still in flight (or retrying) while the caller goes on to undo it.
 */
export async function allSettled<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
