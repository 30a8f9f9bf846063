import type { ApiServer } from './api-server.js';
import { ApiError } from './api-status.js';
import { cloneJson, objectAt, stringAt, type JsonObject } from './json-value.js';
import { namespaceOf, uidOf } from './object-store.js';
import { controllerOf, controllerReference } from './owner-references.js';
import { NODE_NAME } from './pod-lifecycle.js';
import { builtInType } from './resource-table.js';

/** A pod a workload controller wants: its name, the template it comes from, and what differs. */
export interface PodRequest {
  readonly name: string;
  /** Set when the name was generated from this prefix. */
  readonly generateName?: string;
  readonly template: JsonObject;
  /** Labels added to the template's (revision hashes, ordinals). */
  readonly labels?: Readonly<Record<string, string>>;
  /** The node; the first node by default. */
  readonly nodeName?: string;
  /** Changes to the pod spec (hostname, claims). */
  readonly adjust?: (spec: JsonObject) => void;
}

/** What came of a pod creation: the pod, or the API's refusal (an admission error, say). */
export type PodCreation = { readonly pod: JsonObject } | { readonly error: string };

/** Creates a pod controlled by `owner`, as the real controllers do; refusals are returned, not thrown. */
export function createOwnedPod(api: ApiServer, owner: JsonObject, request: PodRequest): PodCreation {
  const template = request.template;
  const templateMeta = objectAt(template, 'metadata') ?? {};
  const metadata: JsonObject = {
    name: request.name,
    ...(request.generateName === undefined ? {} : { generateName: request.generateName }),
    namespace: namespaceOf(owner),
    labels: { ...cloneJson(objectAt(templateMeta, 'labels') ?? {}), ...(request.labels ?? {}) },
    ownerReferences: [controllerReference(owner)],
  };
  const annotations = objectAt(templateMeta, 'annotations');
  if (annotations !== undefined) metadata.annotations = cloneJson(annotations);
  const spec = cloneJson(objectAt(template, 'spec') ?? {});
  spec.nodeName = request.nodeName ?? NODE_NAME;
  request.adjust?.(spec);
  try {
    return { pod: api.createInternal(builtInType('Pod'), { apiVersion: 'v1', kind: 'Pod', metadata, spec }) };
  } catch (error) {
    if (error instanceof ApiError) return { error: error.status.message };
    throw error;
  }
}

/** The live (not terminating) pods `owner` controls. */
export function ownedPods(api: ApiServer, owner: JsonObject): JsonObject[] {
  const uid = uidOf(owner);
  return api.store
    .view(builtInType('Pod'), namespaceOf(owner))
    .filter((p) => controllerOf(p)?.uid === uid && objectAt(p, 'metadata')?.deletionTimestamp === undefined);
}

/** A pod's phase (`Pending` when it has none yet). */
export function podPhase(pod: JsonObject): string {
  return stringAt(objectAt(pod, 'status'), 'phase') ?? 'Pending';
}
