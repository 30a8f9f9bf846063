/* eslint-disable @typescript-eslint/no-unnecessary-type-parameters -- the ClusterApi signatures name the view the caller expects */
import type { KubeObject, ObjectRef } from '@dreamscape/kube';
import type { ClusterApi } from './cluster-api.js';
import type { ReleaseRecord } from './history.js';

/**
 * The annotations that say which run put an object in the cluster (docs/adr/0015-failure-reports-and-provenance.md).
 * `run-url` is also what the Lease names its holder's run with.
 */
export const PROVENANCE_ANNOTATIONS = {
  repository: 'dreamscape.io/repository',
  workflow: 'dreamscape.io/workflow',
  runUrl: 'dreamscape.io/run-url',
  commit: 'dreamscape.io/commit',
  revision: 'dreamscape.io/revision',
} as const;

/** What a release record says about where it came from. */
export type ProvenanceSource = Pick<
  ReleaseRecord,
  'revision' | 'commit' | 'runUrl' | 'repository' | 'workflow'
>;

/**
 * The provenance annotations of the objects of a release: its revision, and the repository,
 * workflow, run (its URL without the attempt) and commit of the run that created that revision, all
 * from its record. A re-run, or a run resuming the release, writes the same values; outside a
 * workflow the run's own are left out rather than written empty.
 */
export function provenanceAnnotations(record: ProvenanceSource): Record<string, string> {
  const a = PROVENANCE_ANNOTATIONS;
  const values: [string, string | undefined][] = [
    [a.repository, record.repository],
    [a.workflow, record.workflow],
    [a.runUrl, record.runUrl],
    [a.commit, record.commit],
  ];
  return {
    ...Object.fromEntries(values.filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')),
    [a.revision]: String(record.revision),
  };
}

/** The field manager that owns the provenance annotations (see {@link ProvenanceClusterApi}). */
export const PROVENANCE_FIELD_MANAGER = 'dreamscape-provenance';

/** The objects without annotations of the provenance names (a manifest's own look-alikes are not applied). */
export function withoutProvenance(objects: readonly KubeObject[]): KubeObject[] {
  const ours = new Set<string>(Object.values(PROVENANCE_ANNOTATIONS));
  return objects.map((o) => {
    const annotations = o.metadata.annotations;
    if (annotations === undefined || !Object.keys(annotations).some((k) => ours.has(k))) return o;
    return {
      ...o,
      metadata: {
        ...o.metadata,
        annotations: Object.fromEntries(Object.entries(annotations).filter(([k]) => !ours.has(k))),
      },
    };
  });
}

/** Whether an object already carries exactly these provenance annotations. */
export function hasProvenance(object: KubeObject, annotations: Readonly<Record<string, string>>): boolean {
  const live = object.metadata.annotations ?? {};
  return Object.values(PROVENANCE_ANNOTATIONS).every((k) => live[k] === annotations[k]);
}

/** Options of an apply through a {@link ProvenanceApi}. */
export interface ProvenanceApplyOptions {
  readonly dryRun?: boolean;
  readonly forceConflicts?: boolean;
  /**
   * The release the objects belong to, when it is not the one running: a revert applies the
   * release live before again, with its own provenance, so the objects read as they did.
   */
  readonly release?: ProvenanceSource;
}

/** The {@link ClusterApi} a release writes through (see {@link ProvenanceClusterApi}). */
export interface ProvenanceApi extends ClusterApi {
  applyServerSide(objects: readonly KubeObject[], options?: ProvenanceApplyOptions): Promise<KubeObject[]>;
}

/**
 * A {@link ClusterApi} whose applies give every object the provenance of the release running
 * (`current()`, once its record is open; nothing before) or of the release named in the options.
 * Every object a release applies goes through it, so no write path can forget the annotations.
 *
 * They are written by a field manager of their own, {@link PROVENANCE_FIELD_MANAGER}, in a second
 * apply of the objects whose annotations the first left different: the release's own apply (as
 * `dreamscape`) never holds them, so a plan's server-side diff, which compares as `dreamscape`,
 * shows what a release changes rather than annotations every release rewrites, and an object whose
 * provenance is already right costs nothing more. The switch's selector patches and the scale
 * writes change no object's provenance. Dry runs are sent as they are.
 */
export class ProvenanceClusterApi implements ProvenanceApi {
  readonly podLog?: ClusterApi['podLog'];

  constructor(
    private readonly api: ClusterApi,
    private readonly current: () => ProvenanceSource | undefined,
  ) {
    if (api.podLog !== undefined) this.podLog = api.podLog.bind(api);
  }

  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    return this.api.get<T>(ref);
  }

  list<T extends KubeObject = KubeObject>(
    resource: string,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string },
  ): Promise<{ items: T[]; resourceVersion: string }> {
    return this.api.list<T>(resource, options);
  }

  create<T extends KubeObject = KubeObject>(object: KubeObject): Promise<T> {
    return this.api.create<T>(object);
  }

  replace<T extends KubeObject = KubeObject>(object: KubeObject): Promise<T> {
    return this.api.replace<T>(object);
  }

  patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: object | readonly { op: string; path: string; value?: unknown }[],
    options: { type: 'merge' | 'json' | 'strategic'; subresource?: string },
  ): Promise<T> {
    return this.api.patch<T>(ref, patch, options);
  }

  delete(ref: ObjectRef, options?: { ignoreNotFound?: boolean }): Promise<boolean> {
    return this.api.delete(ref, options);
  }

  async applyServerSide(
    objects: readonly KubeObject[],
    options: ProvenanceApplyOptions = {},
  ): Promise<KubeObject[]> {
    const { release, ...rest } = options;
    const applied = await this.api.applyServerSide(withoutProvenance(objects), rest);
    const source = rest.dryRun === true ? undefined : (release ?? this.current());
    if (source === undefined) return applied;
    const annotations = provenanceAnnotations(source);
    const stale = applied.filter((o) => !hasProvenance(o, annotations));
    if (stale.length === 0) return applied;
    const stamped = await this.api.applyServerSide(
      stale.map((o) => ({
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata: {
          name: o.metadata.name,
          ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }),
          annotations,
        },
      })),
      // The names are ours: a person who set one by hand (`kubectl annotate`) does not block a release.
      { fieldManager: PROVENANCE_FIELD_MANAGER, forceConflicts: true },
    );
    const byKey = new Map(stamped.map((o) => [objectKey(o), o]));
    return applied.map((o) => byKey.get(objectKey(o)) ?? o);
  }
}

function objectKey(o: KubeObject): string {
  return `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}
