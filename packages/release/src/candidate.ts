import { evaluateRollout, type HorizontalPodAutoscaler, type KubeObject } from '@dreamscape/kube';
import { coloredName, previewName, type Color } from './colors.js';
import type { LiveColors, LiveState } from './live-state.js';
import {
  coloredDeployment,
  coloredHpa,
  coloredPdbs,
  coloredService,
  previewService,
  releaseLabels,
  TEMPLATE_HASH_ANNOTATION,
  templateHash,
  type BlueGreenPlan,
  type PlannedDeployment,
} from './plan.js';
import { selectorColor, type SelectorColor } from './switching.js';

/** A replica count the release writes through a Deployment's scale subresource, after the apply. */
export interface ScaleWrite {
  /** The candidate's colored Deployment. */
  readonly name: string;
  readonly replicas: number;
  /** An HPA owns the count once it runs: the write only raises it, never cuts it. */
  readonly hpa: boolean;
}

/** When a Service the release writes is written. */
export type ServiceWrite = 'apply' | 'at-preview' | 'at-switch';

/** Everything a blue-green release writes, in the order it writes it. */
export interface CandidateRelease {
  /** Configuration and stateful workloads, applied in place before the candidate (labelled). */
  readonly first: readonly KubeObject[];
  /** The candidate color: Deployments (replicas left out), HPAs with their floor, PDBs. */
  readonly colored: readonly KubeObject[];
  /**
   * The Services, each with when it is written: `apply` (it exists: its non-selector changes, with
   * the color it selects now), `at-preview` (a preview created selecting the candidate) or
   * `at-switch` (a Service created selecting the candidate). An un-colored Service is not here: the
   * switch's patch gives it its color.
   */
  readonly services: readonly { readonly object: KubeObject; readonly when: ServiceWrite }[];
  /** Replica counts, written through the scale subresource after the apply. */
  readonly scales: readonly ScaleWrite[];
  /** Workers, DaemonSets, CronJobs (labelled), applied the moment the Services switch. */
  readonly inStep: readonly KubeObject[];
}

/** What the candidate objects depend on in the live cluster. */
export interface CandidateInput {
  readonly candidate: Color;
  /** The color the release starts from (`legacy`: un-colored Deployments; undefined: first deploy). */
  readonly active: Color | 'legacy' | undefined;
  /** What a Service (by name, previews included) selects now. */
  readonly selects: (service: string) => SelectorColor;
  /** The replicas a Deployment (by name) runs now; undefined when it does not exist. */
  readonly replicas: (deployment: string) => number | undefined;
}

/**
 * What this release writes: the one description both the server-side dry run and the apply use, so
 * that the dry run validates exactly what the apply will write (replica counts and HPA floors
 * included). Replicas are never part of the apply: they go through the scale subresource only, by
 * one manager, so an environment whose colors were scaled down applies again without a conflict.
 */
export function candidateRelease(plan: BlueGreenPlan, input: CandidateInput): CandidateRelease {
  const { candidate } = input;
  const first: KubeObject[] = [...plan.shared, ...withReleaseLabels(plan, plan.stateful)];
  const colored: KubeObject[] = [];
  const scales: ScaleWrite[] = [];
  for (const d of plan.deployments) {
    const target = targetReplicas(d, input.active, input.replicas);
    const hpa = coloredHpa(plan, d, candidate);
    colored.push(coloredDeployment(plan, d, candidate, undefined));
    if (hpa !== undefined) colored.push(hpaWithFloor(hpa, target));
    colored.push(...coloredPdbs(plan, d, candidate));
    scales.push({ name: coloredName(d.name, candidate), replicas: target, hpa: hpa !== undefined });
  }
  const services: { object: KubeObject; when: ServiceWrite }[] = [];
  for (const s of plan.services) {
    const color = input.selects(s.name);
    if (color === 'blue' || color === 'green')
      services.push({ object: coloredService(plan, s, color), when: 'apply' });
    else if (color === 'missing')
      services.push({ object: coloredService(plan, s, candidate), when: 'at-switch' });
    // Preview Services keep their color until the candidate is Ready.
    const previewColor = input.selects(previewName(s.name));
    if (previewColor === 'blue' || previewColor === 'green')
      services.push({ object: previewService(plan, s, previewColor), when: 'apply' });
    else if (previewColor === 'missing')
      services.push({ object: previewService(plan, s, candidate), when: 'at-preview' });
  }
  return { first, colored, services, scales, inStep: withReleaseLabels(plan, plan.inStep) };
}

/** The candidate objects as the live state of a running release sees them. */
export function candidateFromLive(
  plan: BlueGreenPlan,
  live: LiveState,
  active: Color | 'legacy' | undefined,
  candidate: Color,
): CandidateRelease {
  return candidateRelease(plan, {
    candidate,
    active,
    selects: (name) => selectorColor(live.services.get(name)),
    replicas: (name) => live.deployments.get(name)?.spec?.replicas,
  });
}

/** The candidate objects as preflight sees them, before the lock (see {@link readLiveColors}). */
export function candidateFromColors(plan: BlueGreenPlan, colors: LiveColors): CandidateRelease {
  const legacy = plan.services.some((s) => colors.legacy.has(s.name));
  return candidateRelease(plan, {
    candidate: colors.candidate,
    active: colors.active ?? (legacy ? 'legacy' : undefined),
    selects: (name) => colors.services.get(name) ?? (colors.legacy.has(name) ? 'legacy' : 'missing'),
    replicas: (name) => colors.replicas?.get(name),
  });
}

/** Everything a release would write: the objects it applies, and the replica counts it scales to. */
export interface ReleaseWrites {
  readonly objects: KubeObject[];
  /** Not part of an apply (replicas belong to the scale subresource), so not of a diff either. */
  readonly scales: readonly ScaleWrite[];
}

/**
 * Everything a release would write, for a server-side dry run: configuration, stateful and in-step
 * workloads, the candidate color's Deployments, HPAs (with their floor) and PDBs, the Services with
 * the colors they select now (the switch itself is a patch, not part of the apply), and the replica
 * counts the candidate is scaled to.
 */
export function releaseWrites(plan: BlueGreenPlan, colors: LiveColors): ReleaseWrites {
  const release = candidateFromColors(plan, colors);
  return {
    objects: [
      ...release.first,
      ...release.inStep,
      ...release.colored,
      ...release.services.map((s) => s.object),
    ],
    scales: release.scales,
  };
}

/** What a release would apply, for a diff: {@link releaseWrites} without the scale writes. */
export function releaseObjects(plan: BlueGreenPlan, colors: LiveColors): KubeObject[] {
  return releaseWrites(plan, colors).objects;
}

/** At least the manifest's replicas, and at least what the live color runs now (an HPA may have scaled it). */
export function targetReplicas(
  d: PlannedDeployment,
  active: Color | 'legacy' | undefined,
  replicas: (deployment: string) => number | undefined,
): number {
  const liveName =
    active === undefined ? undefined : active === 'legacy' ? d.name : coloredName(d.name, active);
  const liveReplicas = liveName === undefined ? 0 : (replicas(liveName) ?? 0);
  return Math.max(d.replicas, liveReplicas, 1);
}

/**
 * How the candidate color gets ready: `fast` (it already runs this release, Ready at full scale:
 * nothing applied), `warm-up` (it runs this release scaled down: scaled up), `re-apply` (applied),
 * `already-live` (the live color runs this release: nothing to do).
 */
export type ReleasePath = 'fast' | 'warm-up' | 're-apply' | 'already-live';

/** Whether the candidate color already runs this release (see {@link ReleasePath}). */
export function candidatePath(
  plan: BlueGreenPlan,
  kind: 'deploy' | 'rollback',
  live: LiveState,
  active: Color | 'legacy' | undefined,
  candidate: Color,
): ReleasePath {
  let scaled = true;
  for (const d of plan.deployments) {
    const dep = live.deployments.get(coloredName(d.name, candidate));
    if (dep?.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] !== templateHash(d)) return 're-apply';
    const status = evaluateRollout(dep);
    const target = targetReplicas(d, active, (name) => live.deployments.get(name)?.spec?.replicas);
    if (status.state !== 'complete' || status.replicas < target) scaled = false;
  }
  // A deploy always applies: shared objects may have changed even when the pods have not.
  if (kind === 'deploy') return 're-apply';
  return scaled ? 'fast' : 'warm-up';
}

/** Workloads with the release's labels on their metadata (never on their pods: no restart). */
export function withReleaseLabels(
  plan: Pick<BlueGreenPlan, 'app' | 'environment'>,
  objects: readonly KubeObject[],
): KubeObject[] {
  return objects.map((o) => ({
    ...o,
    metadata: { ...o.metadata, labels: { ...(o.metadata.labels ?? {}), ...releaseLabels(plan) } },
  }));
}

/** The candidate must be able to carry what the live color carries: its HPA may not cap it lower. */
function hpaWithFloor(hpa: HorizontalPodAutoscaler, floor: number): HorizontalPodAutoscaler {
  if (hpa.spec === undefined) return hpa;
  return { ...hpa, spec: { ...hpa.spec, maxReplicas: Math.max(hpa.spec.maxReplicas, floor) } };
}
