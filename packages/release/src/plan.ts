import { createHash } from 'node:crypto';
import { ActionError } from '@dreamscape/core';
import type {
  Container,
  Deployment,
  HorizontalPodAutoscaler,
  KubeObject,
  PodDisruptionBudget,
  Service,
  ServicePort,
} from '@dreamscape/kube';
import {
  APP_LABEL,
  COLOR_LABEL,
  coloredName,
  ENVIRONMENT_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  previewName,
  ROLE_LABEL,
  type Color,
} from './colors.js';
import {
  classifyWorkload,
  classReason,
  isWorkload,
  podTemplateOf,
  RELEASE_ANNOTATION,
  RELEASE_ANNOTATION_VALUES,
  workloadContainers,
  type WorkloadClass,
} from './workload-classes.js';
import { splitHooks, type HookJob, type SkippedHook } from './hook-jobs.js';

/** A Service of the overlay and the one Deployment whose pods it selects. */
export interface PlannedService {
  readonly name: string;
  readonly deployment: string;
  readonly ports: readonly ServicePort[];
  /** The selector as written, without a color. */
  readonly selector: Readonly<Record<string, string>>;
  readonly manifest: Service;
}

/** A Deployment exposed by at least one Service: it gets a blue and a green copy. */
export interface PlannedDeployment {
  readonly name: string;
  readonly manifest: Deployment;
  /** Replicas as written (1 when unset). */
  readonly replicas: number;
  /** Every container image, in order (init containers first). */
  readonly images: readonly string[];
  readonly hpa: HorizontalPodAutoscaler | undefined;
  readonly pdbs: readonly PodDisruptionBudget[];
  readonly services: readonly string[];
}

/** One problem found while planning; errors stop a deploy, warnings are reported. */
export interface LintFinding {
  readonly level: 'error' | 'warning';
  /** `Kind/name` of the object concerned. */
  readonly object: string;
  readonly message: string;
  /**
   * Set when the problem is a container image not pinned by digest: a deploy pins it from `images`
   * or from what the environment runs, which a plan without the cluster cannot know.
   */
  readonly unpinned?: { readonly container: string; readonly image: string };
}

/** A workload and the class it is released in, with why (shown in the plan and the summary). */
export interface ClassifiedWorkload {
  readonly kind: string;
  readonly name: string;
  readonly cls: WorkloadClass;
  readonly reason: string;
}

/** What a blue-green release of an overlay consists of. */
export interface BlueGreenPlan {
  readonly app: string;
  readonly environment: string;
  readonly namespace: string;
  readonly services: readonly PlannedService[];
  /** The colored workloads: a blue and a green copy each. */
  readonly deployments: readonly PlannedDeployment[];
  /** Stateful workloads: applied in place and awaited before the candidate color, never colored. */
  readonly stateful: readonly KubeObject[];
  /** Workers, DaemonSets, CronJobs: one copy, updated when the Services switch, returned with them. */
  readonly inStep: readonly KubeObject[];
  /** Every workload of the release and its class. */
  readonly workloads: readonly ClassifiedWorkload[];
  /** Configuration applied as it is, before the idle color (Namespaces first). */
  readonly shared: readonly KubeObject[];
  /** Jobs run before the candidate comes up (`pre-deploy`) or after the release is verified (`post-deploy`). */
  readonly hooks: readonly HookJob[];
  /** Objects of the manifest a deploy never applies (Helm test, delete and rollback hooks). */
  readonly skippedHooks: readonly SkippedHook[];
  readonly findings: readonly LintFinding[];
  /** sha256 of the rendered manifest: two deploys with the same hash deploy the same thing. */
  readonly manifestHash: string;
}

/** Options for {@link planBlueGreen}. */
export interface PlanOptions {
  readonly app: string;
  readonly environment: string;
  /** Overrides the namespace of every namespaced object. */
  readonly namespace?: string | undefined;
  /** The rendered manifest text the objects came from (hashed for idempotence). */
  readonly manifestText: string;
}

/** Kinds without a namespace that overlays and charts commonly carry. */
export const CLUSTER_SCOPED_KINDS: readonly string[] = [
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'IngressClass',
  'PersistentVolume',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];
const CLUSTER_SCOPED = new Set(CLUSTER_SCOPED_KINDS);
const DIGEST_REF = /@sha256:[0-9a-f]{64}$/;

/**
 * Splits rendered objects into what a blue-green release needs: the Services and the Deployments they
 * expose (each getting a colored copy, with per-color HPA and PDB), and everything else, applied as
 * it is. Lints selectors, ports, probes and image pins on the way.
 */
export function planBlueGreen(objects: readonly KubeObject[], options: PlanOptions): BlueGreenPlan {
  const findings: LintFinding[] = [];
  const error = (object: KubeObject, message: string): void => {
    findings.push({ level: 'error', object: `${object.kind}/${object.metadata.name}`, message });
  };
  const warn = (object: KubeObject, message: string): void => {
    findings.push({ level: 'warning', object: `${object.kind}/${object.metadata.name}`, message });
  };
  const unpinned = (object: KubeObject, container: string, image: string): void => {
    findings.push({
      level: 'error',
      object: `${object.kind}/${object.metadata.name}`,
      message: unpinnedMessage(container, image),
      unpinned: { container, image },
    });
  };

  const namespace = resolveNamespace(objects, options.namespace);
  // Hook Jobs run around the switch and Helm's test hooks never: neither is part of what is switched.
  const split = splitHooks(objects);
  findings.push(...split.findings);
  const withNs = split.rest.map((o) =>
    CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace } },
  );

  const deployments = withNs.filter((o): o is Deployment => o.kind === 'Deployment');
  const services = withNs.filter((o): o is Service => o.kind === 'Service');
  const hpas = withNs.filter((o): o is HorizontalPodAutoscaler => o.kind === 'HorizontalPodAutoscaler');
  const pdbs = withNs.filter((o): o is PodDisruptionBudget => o.kind === 'PodDisruptionBudget');

  for (const o of withNs) {
    if (o.metadata.labels?.[COLOR_LABEL] !== undefined)
      error(o, `the label ${COLOR_LABEL} is reserved: the release engine sets it`);
  }

  const workloads = withNs.filter(isWorkload);
  for (const w of workloads) {
    if (w.kind === 'Deployment') lintDeployment(w as Deployment, error, warn);
    lintImages(w, error, unpinned);
    const marker = w.metadata.annotations?.[RELEASE_ANNOTATION];
    if (marker !== undefined && !(RELEASE_ANNOTATION_VALUES as readonly string[]).includes(marker))
      error(
        w,
        `its annotation ${RELEASE_ANNOTATION} is '${marker}'; accepted: ${RELEASE_ANNOTATION_VALUES.join(', ')}`,
      );
  }
  // Stateful workloads are never colored: a Service in front of one is applied as it is.
  const stateful = workloads.filter((w) => classifyWorkload(w, false) === 'stateful');
  const colorable = deployments.filter((d) => !stateful.includes(d));

  const exposedBy = new Map<string, string[]>();
  const planned: PlannedService[] = [];
  const sharedServices: Service[] = [];
  for (const svc of services) {
    const selector = svc.spec?.selector;
    if (selector === undefined || Object.keys(selector).length === 0) {
      sharedServices.push(svc);
      continue;
    }
    if (selector[COLOR_LABEL] !== undefined) {
      error(svc, `its selector must not set ${COLOR_LABEL}: the release engine switches it`);
      continue;
    }
    const selects = (w: KubeObject): boolean => isSubset(selector, podTemplateOf(w)?.metadata?.labels ?? {});
    const matches = colorable.filter(selects);
    if (matches.length === 0) {
      if (!stateful.some(selects))
        warn(svc, 'selects no Deployment of the overlay; it is applied as it is and never switched');
      sharedServices.push(svc);
      continue;
    }
    if (matches.length > 1) {
      error(
        svc,
        `selects the pods of ${matches.length} Deployments (${matches.map((m) => m.metadata.name).join(', ')}); a switched Service must select exactly one`,
      );
      continue;
    }
    const target = matches[0] as Deployment;
    lintServicePorts(svc, target, error);
    if (svc.metadata.name.endsWith('-preview'))
      warn(svc, 'its name ends in -preview, which the engine also uses for preview Services');
    planned.push({
      name: svc.metadata.name,
      deployment: target.metadata.name,
      ports: svc.spec?.ports ?? [],
      selector,
      manifest: svc,
    });
    exposedBy.set(target.metadata.name, [...(exposedBy.get(target.metadata.name) ?? []), svc.metadata.name]);
  }

  const plannedDeployments: PlannedDeployment[] = [];
  const exposedNames = new Set(exposedBy.keys());
  for (const d of colorable) {
    const servicesOf = exposedBy.get(d.metadata.name);
    if (servicesOf === undefined) continue;
    const hpa = hpas.filter(
      (h) => h.spec?.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === d.metadata.name,
    );
    if (hpa.length > 1) error(d, `is the target of ${hpa.length} HorizontalPodAutoscalers; one at most`);
    const podLabels = d.spec?.template?.metadata?.labels ?? {};
    const myPdbs = pdbs.filter((p) => {
      const sel = p.spec?.selector?.matchLabels;
      return sel !== undefined && Object.keys(sel).length > 0 && isSubset(sel, podLabels);
    });
    plannedDeployments.push({
      name: d.metadata.name,
      manifest: d,
      replicas: d.spec?.replicas ?? 1,
      images: containersOf(d).map((c) => c.image ?? ''),
      hpa: hpa[0],
      pdbs: myPdbs,
      services: servicesOf,
    });
  }

  for (const p of pdbs) {
    const sel = p.spec?.selector?.matchLabels ?? {};
    const covered = deployments.filter((d) => isSubset(sel, d.spec?.template?.metadata?.labels ?? {}));
    if (covered.length > 1 && covered.every((d) => exposedNames.has(d.metadata.name)))
      warn(
        p,
        `selects the pods of ${covered.length} Deployments: a pod matched by two PDBs cannot be evicted`,
      );
  }

  const colored = new Set(plannedDeployments.map((d) => d.manifest as KubeObject));
  const inStep = workloads.filter((w) => !colored.has(w) && !stateful.includes(w));
  const handled = new Set<KubeObject>([
    ...planned.map((s) => s.manifest),
    ...plannedDeployments.flatMap((d) => [d.manifest, ...(d.hpa === undefined ? [] : [d.hpa]), ...d.pdbs]),
    ...stateful,
    ...inStep,
  ]);
  const shared = withNs
    .filter((o) => !handled.has(o))
    .sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
  const classified = workloads.map((w): ClassifiedWorkload => {
    const cls: WorkloadClass = colored.has(w) ? 'colored' : stateful.includes(w) ? 'stateful' : 'in-step';
    return { kind: w.kind, name: w.metadata.name, cls, reason: classReason(w, cls) };
  });

  return {
    app: options.app,
    environment: options.environment,
    namespace,
    services: planned,
    deployments: plannedDeployments,
    stateful,
    inStep,
    workloads: classified,
    shared,
    hooks: split.jobs,
    skippedHooks: split.skipped,
    findings,
    manifestHash: `sha256:${createHash('sha256').update(options.manifestText).digest('hex')}`,
  };
}

/** Fails with every lint error of the plan in one message. */
export function assertNoLintErrors(plan: BlueGreenPlan, input = 'overlay'): void {
  const errors = plan.findings.filter((f) => f.level === 'error');
  if (errors.length === 0) return;
  throw new ActionError(
    `The ${input} cannot be deployed blue-green: ${errors.length} problem${errors.length === 1 ? '' : 's'}:\n${errors
      .map((e) => `- ${e.object}: ${e.message}`)
      .join('\n')}`,
  );
}

/** The labels the engine adds to every object it writes. */
export function releaseLabels(plan: Pick<BlueGreenPlan, 'app' | 'environment'>): Record<string, string> {
  return { [APP_LABEL]: plan.app, [ENVIRONMENT_LABEL]: plan.environment, [MANAGED_BY_LABEL]: MANAGED_BY };
}

/**
 * The colored copy of a Deployment: `<name>-<color>`, the color in its selector and pod labels, and
 * `replicas` set (or left to the HPA when `replicas` is undefined).
 */
export function coloredDeployment(
  plan: BlueGreenPlan,
  d: PlannedDeployment,
  color: Color,
  replicas: number | undefined,
): Deployment {
  const m = d.manifest;
  const spec = { ...(m.spec ?? {}) };
  const template = spec.template ?? {};
  const selector = spec.selector ?? {};
  const colored: Deployment = {
    ...m,
    metadata: {
      ...m.metadata,
      name: coloredName(d.name, color),
      labels: { ...(m.metadata.labels ?? {}), ...releaseLabels(plan), [COLOR_LABEL]: color },
      annotations: { ...(m.metadata.annotations ?? {}), [TEMPLATE_HASH_ANNOTATION]: templateHash(d) },
    },
    spec: {
      ...spec,
      selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [COLOR_LABEL]: color } },
      template: {
        ...template,
        metadata: {
          ...(template.metadata ?? {}),
          labels: { ...(template.metadata?.labels ?? {}), [COLOR_LABEL]: color },
        },
      },
    },
  };
  if (replicas === undefined) delete colored.spec?.replicas;
  else if (colored.spec !== undefined) colored.spec.replicas = replicas;
  return colored;
}

/** The per-color HPA, targeting `<deployment>-<color>`. */
export function coloredHpa(
  plan: BlueGreenPlan,
  d: PlannedDeployment,
  color: Color,
): HorizontalPodAutoscaler | undefined {
  if (d.hpa?.spec === undefined) return undefined;
  return {
    ...d.hpa,
    metadata: {
      ...d.hpa.metadata,
      name: coloredName(d.hpa.metadata.name, color),
      labels: { ...(d.hpa.metadata.labels ?? {}), ...releaseLabels(plan), [COLOR_LABEL]: color },
    },
    spec: {
      ...d.hpa.spec,
      scaleTargetRef: { ...d.hpa.spec.scaleTargetRef, name: coloredName(d.name, color) },
    },
  };
}

/** Per-color PDBs, selecting only that color's pods. */
export function coloredPdbs(plan: BlueGreenPlan, d: PlannedDeployment, color: Color): PodDisruptionBudget[] {
  return d.pdbs.map((p) => ({
    ...p,
    metadata: {
      ...p.metadata,
      name: coloredName(p.metadata.name, color),
      labels: { ...(p.metadata.labels ?? {}), ...releaseLabels(plan), [COLOR_LABEL]: color },
    },
    spec: {
      ...(p.spec ?? {}),
      selector: {
        ...(p.spec?.selector ?? {}),
        matchLabels: { ...(p.spec?.selector?.matchLabels ?? {}), [COLOR_LABEL]: color },
      },
    },
  }));
}

/** The Service as the overlay writes it, selecting `color`. */
export function coloredService(plan: BlueGreenPlan, s: PlannedService, color: Color): Service {
  return {
    ...s.manifest,
    metadata: {
      ...s.manifest.metadata,
      labels: { ...(s.manifest.metadata.labels ?? {}), ...releaseLabels(plan) },
    },
    spec: { ...(s.manifest.spec ?? {}), selector: { ...s.selector, [COLOR_LABEL]: color } },
  };
}

/**
 * `<service>-preview`: a ClusterIP Service with the same ports, selecting `color`. Health gates reach
 * the candidate through it before any user traffic does.
 */
export function previewService(plan: BlueGreenPlan, s: PlannedService, color: Color): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: previewName(s.name),
      namespace: plan.namespace,
      labels: { ...releaseLabels(plan), [ROLE_LABEL]: 'preview' },
    },
    spec: {
      type: 'ClusterIP',
      selector: { ...s.selector, [COLOR_LABEL]: color },
      ports: s.ports.map((p) => {
        const port: ServicePort = { port: p.port };
        if (p.name !== undefined) port.name = p.name;
        if (p.targetPort !== undefined) port.targetPort = p.targetPort;
        if (p.protocol !== undefined) port.protocol = p.protocol;
        return port;
      }),
    },
  };
}

/**
 * Marks a colored Deployment with the hash of the pod template it runs (before coloring), so a
 * rollback can tell that the idle color still runs the release it returns to.
 */
export const TEMPLATE_HASH_ANNOTATION = 'dreamscape.io/template-hash';

/** sha256 of a Deployment's pod template as the manifest writes it (key order normalized). */
export function templateHash(d: PlannedDeployment): string {
  return `sha256:${createHash('sha256')
    .update(canonicalJson(d.manifest.spec?.template ?? {}))
    .digest('hex')}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** Every image of a Deployment's pod template (init containers first). */
export function containersOf(d: Deployment): Container[] {
  const spec = d.spec?.template?.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

function resolveNamespace(objects: readonly KubeObject[], override: string | undefined): string {
  if (override !== undefined && override !== '') return override;
  const found = new Set(
    objects
      .filter((o) => !CLUSTER_SCOPED.has(o.kind))
      .map((o) => o.metadata.namespace)
      .filter((n): n is string => n !== undefined && n !== ''),
  );
  if (found.size > 1) {
    throw new ActionError(
      `The overlay puts objects in ${found.size} namespaces (${[...found].sort().join(', ')}); a release lives in one.`,
      { hint: "Set `namespace:` in the overlay's kustomization, or the action's `namespace` input." },
    );
  }
  return [...found][0] ?? 'default';
}

/** Every image of a workload pinned by digest, whatever its kind. */
function lintImages(
  w: KubeObject,
  error: (o: KubeObject, m: string) => void,
  unpinned: (o: KubeObject, container: string, image: string) => void,
): void {
  for (const c of workloadContainers(w)) {
    const image = c.image ?? '';
    if (image === '') error(w, `container '${c.name}' has no image`);
    else if (!DIGEST_REF.test(image)) unpinned(w, c.name, image);
  }
}

/**
 * Whether an image reference names no build at all: no digest and the `latest` tag, or no tag
 * (which pulls `latest`). Whatever a deploy would pin, the manifest itself says nothing.
 */
export function namesLatest(image: string): boolean {
  if (DIGEST_REF.test(image)) return false;
  const tag = /:([^/@]+)$/.exec(image)?.[1];
  return tag === 'latest' || tag === undefined;
}

function unpinnedMessage(container: string, image: string): string {
  return `container '${container}' runs ${image}, which is not pinned by digest${namesLatest(image) ? " (a 'latest' tag moves under you)" : ''}; pass its digest in 'images'`;
}

function lintDeployment(
  d: Deployment,
  error: (o: KubeObject, m: string) => void,
  warn: (o: KubeObject, m: string) => void,
): void {
  const selector = d.spec?.selector;
  const labels = d.spec?.template?.metadata?.labels ?? {};
  if (selector?.matchExpressions !== undefined && selector.matchExpressions.length > 0)
    error(d, 'its selector uses matchExpressions; blue-green needs matchLabels');
  const matchLabels = selector?.matchLabels ?? {};
  if (Object.keys(matchLabels).length === 0) error(d, 'its selector has no matchLabels');
  else if (!isSubset(matchLabels, labels))
    error(
      d,
      `its selector ${formatLabels(matchLabels)} does not match its pod labels ${formatLabels(labels)}`,
    );
  if ((d.spec?.template?.spec?.containers ?? []).length === 0) error(d, 'has no containers');
  for (const c of d.spec?.template?.spec?.containers ?? []) {
    if (c.readinessProbe === undefined)
      warn(d, `container '${c.name}' has no readinessProbe: it counts as Ready as soon as it starts`);
  }
}

function lintServicePorts(svc: Service, d: Deployment, error: (o: KubeObject, m: string) => void): void {
  const containerPorts = (d.spec?.template?.spec?.containers ?? []).flatMap((c) => {
    const ports = c.ports;
    return Array.isArray(ports) ? (ports as { name?: string; containerPort?: number }[]) : [];
  });
  for (const p of svc.spec?.ports ?? []) {
    const target = p.targetPort ?? p.port;
    if (
      typeof target === 'string' &&
      !/^\d+$/.test(target) &&
      !containerPorts.some((cp) => cp.name === target)
    ) {
      error(
        svc,
        `port ${p.name ?? p.port} targets the named port '${target}', which no container of Deployment/${d.metadata.name} declares`,
      );
    }
  }
}

function isSubset(
  subset: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(subset).every(([k, v]) => labels[k] === v);
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `{${text}}`;
}
