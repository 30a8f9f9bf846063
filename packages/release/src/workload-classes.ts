import type { Container, KubeObject, PodTemplateSpec } from '@dreamscape/kube';

/**
 * How a workload of a blue-green release is released (docs/adr/0004-what-a-release-contains.md):
 *
 * - `colored`: a Deployment a Service of the release selects; it gets a blue and a green copy and
 *   the Services switch between them.
 * - `stateful`: a StatefulSet, a Deployment that mounts a PersistentVolumeClaim, or any workload
 *   marked `dreamscape.io/release: shared`. It holds state, so there is one copy, updated in place
 *   by its own rolling update (awaited) before the candidate color comes up, never switched.
 * - `in-step`: a workload no Service selects (a worker Deployment), a DaemonSet or a CronJob. One
 *   copy, which runs the images of the live release: updated when the Services switch, returned
 *   with them when a release switches back or is rolled back.
 */
export type WorkloadClass = 'colored' | 'stateful' | 'in-step';

/** The annotation a workload carries to be released in place, never colored: `shared`. */
export const RELEASE_ANNOTATION = 'dreamscape.io/release';
/** The values it accepts. */
export const RELEASE_ANNOTATION_VALUES = ['shared'] as const;

/** The kinds that run pods from a template. */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'] as const;

/** Whether an object runs pods from a template. */
export function isWorkload(object: KubeObject): boolean {
  return (WORKLOAD_KINDS as readonly string[]).includes(object.kind);
}

/** The pod template of a workload (a CronJob's is inside its job template). */
export function podTemplateOf(object: KubeObject): PodTemplateSpec | undefined {
  const spec = (object as { spec?: Record<string, unknown> }).spec;
  if (object.kind === 'CronJob') {
    const jobSpec = (spec?.jobTemplate as { spec?: Record<string, unknown> } | undefined)?.spec;
    return jobSpec?.template as PodTemplateSpec | undefined;
  }
  return spec?.template as PodTemplateSpec | undefined;
}

/** Every container of a workload's pod template (init containers first). */
export function workloadContainers(object: KubeObject): Container[] {
  const spec = podTemplateOf(object)?.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

/** Whether a workload's pods mount a PersistentVolumeClaim. */
export function mountsClaim(object: KubeObject): boolean {
  const volumes = podTemplateOf(object)?.spec?.volumes;
  return (
    Array.isArray(volumes) &&
    volumes.some((v) => typeof v === 'object' && v !== null && 'persistentVolumeClaim' in v)
  );
}

/** Whether a workload is marked to be released in place, never colored. */
export function markedShared(object: KubeObject): boolean {
  return object.metadata.annotations?.[RELEASE_ANNOTATION] === 'shared';
}

/**
 * The class of a workload, given whether a Service of the release selects its pods. Everything that
 * is not a workload is configuration, applied once and shared by both colors.
 */
export function classifyWorkload(object: KubeObject, selectedByAService: boolean): WorkloadClass {
  if (object.kind === 'StatefulSet' || markedShared(object) || mountsClaim(object)) return 'stateful';
  if (object.kind === 'Deployment' && selectedByAService) return 'colored';
  return 'in-step';
}

/** Why a workload is in its class, for the plan and the job summary. */
export function classReason(object: KubeObject, cls: WorkloadClass): string {
  if (cls === 'colored') return 'a Service selects it: blue and green copies, switched';
  if (cls === 'stateful') {
    if (object.kind === 'StatefulSet') return 'a StatefulSet: updated in place first, never colored';
    if (markedShared(object))
      return `marked ${RELEASE_ANNOTATION}: shared: updated in place first, never colored`;
    return 'mounts a PersistentVolumeClaim: updated in place first, never colored';
  }
  if (object.kind === 'Deployment')
    return 'no Service selects it: updated when the Services switch, returned with them';
  return `a ${object.kind}: updated when the Services switch, returned with them`;
}
