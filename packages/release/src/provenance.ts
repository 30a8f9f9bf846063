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

/**
 * The objects with a release's provenance annotations on their metadata (never on a pod template:
 * pods would be replaced for a change of run alone). The user's own annotations of the same names
 * give way.
 */
export function withProvenance(objects: readonly KubeObject[], record: ProvenanceSource): KubeObject[] {
  const annotations = provenanceAnnotations(record);
  const ours = new Set<string>(Object.values(PROVENANCE_ANNOTATIONS));
  return objects.map((o) => ({
    ...o,
    metadata: {
      ...o.metadata,
      annotations: {
        ...Object.fromEntries(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => !ours.has(k))),
        ...annotations,
      },
    },
  }));
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

/** The {@link ClusterApi} a release writes through (see {@link provenanceApi}). */
export interface ProvenanceApi extends ClusterApi {
  applyServerSide(objects: readonly KubeObject[], options?: ProvenanceApplyOptions): Promise<KubeObject[]>;
}

/**
 * A {@link ClusterApi} whose applies stamp every object with the provenance of the release running
 * (`current()`, once its record is open; nothing before) or of the release named in the options.
 * Every object a release applies goes through it, so no write path can forget the annotations; the
 * switch's selector patches and the scale writes change no object's provenance. Dry runs are sent
 * as they are.
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

  applyServerSide(
    objects: readonly KubeObject[],
    options: ProvenanceApplyOptions = {},
  ): Promise<KubeObject[]> {
    const { release, ...rest } = options;
    const source = rest.dryRun === true ? undefined : (release ?? this.current());
    return this.api.applyServerSide(source === undefined ? objects : withProvenance(objects, source), rest);
  }
}
