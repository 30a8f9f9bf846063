import type { ApiServer } from './api-server.js';
import { podTemplateHash } from './deployment-controller.js';
import { cloneJson, jsonEqual, numberAt, objectAt, stringMapAt, type JsonObject } from './json-value.js';
import { nameOf, namespaceOf, uidOf } from './object-store.js';
import { controllerOf, controllerReference } from './owner-references.js';
import { builtInType } from './resource-table.js';

/** The label a StatefulSet's or DaemonSet's pods carry: the name of their ControllerRevision. */
export const REVISION_HASH_LABEL = 'controller-revision-hash';
/** The label of a ControllerRevision with the hash of the template it holds. */
const HASH_LABEL = 'controller.kubernetes.io/hash';

/**
 * The ControllerRevisions of a StatefulSet or DaemonSet, as the real controllers keep them: one per
 * pod template the workload has had, named `<owner>-<hash>`, numbered in order, the newest holding
 * the current template; revisions beyond `revisionHistoryLimit` that no pod uses are pruned.
 */
export class ControllerRevisions {
  private readonly type = builtInType('ControllerRevision');

  /**
   * `owner` labels a revision and its pods as the real controllers do: a StatefulSet's pods carry the
   * revision's name and the revision `controller.kubernetes.io/hash`; a DaemonSet's pods and
   * revisions carry `controller-revision-hash` with the bare hash.
   */
  constructor(
    private readonly api: ApiServer,
    private readonly owner: 'StatefulSet' | 'DaemonSet',
  ) {}

  /** The revisions `owner` controls, oldest first. */
  of(owner: JsonObject): JsonObject[] {
    const uid = uidOf(owner);
    return this.api.store
      .view(this.type, namespaceOf(owner))
      .filter((r) => controllerOf(r)?.uid === uid)
      .sort((a, b) => (numberAt(a, 'revision') ?? 0) - (numberAt(b, 'revision') ?? 0));
  }

  /**
   * The revision holding the owner's current template, made (or renumbered, when an old template
   * comes back) as needed. Returns its name and the value its pods' `controller-revision-hash` has.
   */
  current(owner: JsonObject): { readonly name: string; readonly podLabel: string } {
    const template = cloneJson(objectAt(objectAt(owner, 'spec'), 'template') ?? {});
    const data: JsonObject = { spec: { template: { ...template, $patch: 'replace' } } };
    const hash = podTemplateHash(data);
    const name = `${nameOf(owner)}-${hash}`;
    const revisions = this.of(owner);
    const newest = Math.max(0, ...revisions.map((r) => numberAt(r, 'revision') ?? 0));
    const result = { name, podLabel: this.owner === 'StatefulSet' ? name : hash };
    const existing = revisions.find((r) => nameOf(r) === name);
    if (existing !== undefined) {
      if (jsonEqual(existing.data, data) && (numberAt(existing, 'revision') ?? 0) === newest) return result;
      const next = cloneJson(existing);
      next.revision = newest + 1;
      this.api.writeInternal(this.type, existing, next, undefined);
      return result;
    }
    const labels = {
      ...stringMapAt(objectAt(objectAt(objectAt(owner, 'spec'), 'template'), 'metadata'), 'labels'),
      [this.owner === 'StatefulSet' ? HASH_LABEL : REVISION_HASH_LABEL]: hash,
    };
    const annotations = objectAt(objectAt(owner, 'metadata'), 'annotations');
    this.api.createInternal(this.type, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: namespaceOf(owner),
        labels,
        ...(annotations === undefined ? {} : { annotations: cloneJson(annotations) }),
        ownerReferences: [controllerReference(owner)],
      },
      data,
      revision: newest + 1,
    });
    return result;
  }

  /** The template a revision holds (for pods that stay on an older revision), by its name. */
  template(owner: JsonObject, revision: string): JsonObject | undefined {
    const found = this.api.store.peek(this.type, namespaceOf(owner), revision);
    const template = objectAt(objectAt(objectAt(found, 'data'), 'spec'), 'template');
    if (template === undefined) return undefined;
    const copy = cloneJson(template);
    Reflect.deleteProperty(copy, '$patch');
    return copy;
  }

  /** Deletes the oldest revisions beyond the owner's limit that no revision in `inUse` names. */
  prune(owner: JsonObject, inUse: ReadonlySet<string>): void {
    const limit = numberAt(objectAt(owner, 'spec'), 'revisionHistoryLimit') ?? 10;
    const idle = this.of(owner).filter((r) => !inUse.has(nameOf(r)));
    for (const revision of idle.slice(0, Math.max(0, idle.length - limit)))
      this.api.deleteInternal(this.type, namespaceOf(revision), nameOf(revision));
  }
}
