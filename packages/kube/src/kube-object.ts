/**
 * Minimal typed views of the Kubernetes objects this suite reads or writes. Each view names only the
 * fields the release engine touches; everything else is carried through untouched as `unknown`.
 */

/** `metadata` as far as we use it. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  uid?: string;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  [key: string]: unknown;
}

/** Any Kubernetes object: apiVersion, kind and a named metadata. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A label selector (`matchLabels` only is what our objects use; `matchExpressions` passes through). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: unknown[];
}

/** One container of a pod template. */
export interface Container {
  name: string;
  image?: string;
  [key: string]: unknown;
}

/** A pod template: labels plus containers. */
export interface PodTemplateSpec {
  metadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    ephemeralContainers?: Container[];
    [key: string]: unknown;
  };
}

/** A condition as Deployments (and most other kinds) report it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/** `apps/v1 Deployment`. */
export interface Deployment extends KubeObject {
  kind: 'Deployment';
  spec?: {
    replicas?: number;
    selector?: LabelSelector;
    template?: PodTemplateSpec;
    progressDeadlineSeconds?: number;
    paused?: boolean;
    [key: string]: unknown;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: Condition[];
    [key: string]: unknown;
  };
}

/** `apps/v1 StatefulSet`. */
export interface StatefulSet extends KubeObject {
  kind: 'StatefulSet';
  spec?: {
    replicas?: number;
    selector?: LabelSelector;
    template?: PodTemplateSpec;
    serviceName?: string;
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    updateStrategy?: {
      type?: 'RollingUpdate' | 'OnDelete';
      rollingUpdate?: { partition?: number; [key: string]: unknown };
    };
    [key: string]: unknown;
  };
  status?: {
    observedGeneration?: number;
    readyReplicas?: number;
    currentReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    [key: string]: unknown;
  };
}

/** `apps/v1 DaemonSet`. */
export interface DaemonSet extends KubeObject {
  kind: 'DaemonSet';
  spec?: {
    selector?: LabelSelector;
    template?: PodTemplateSpec;
    updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; [key: string]: unknown };
    [key: string]: unknown;
  };
  status?: {
    observedGeneration?: number;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
    [key: string]: unknown;
  };
}

/** One port of a Service. */
export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  [key: string]: unknown;
}

/** `v1 Service`. */
export interface Service extends KubeObject {
  kind: 'Service';
  spec?: {
    selector?: Record<string, string>;
    ports?: ServicePort[];
    type?: string;
    [key: string]: unknown;
  };
}

/** A reference from an HPA or PDB to the object it scales or protects. */
export interface CrossVersionObjectReference {
  apiVersion?: string;
  kind: string;
  name: string;
}

/** `autoscaling/v2 HorizontalPodAutoscaler`. */
export interface HorizontalPodAutoscaler extends KubeObject {
  kind: 'HorizontalPodAutoscaler';
  spec?: {
    scaleTargetRef: CrossVersionObjectReference;
    minReplicas?: number;
    maxReplicas: number;
    [key: string]: unknown;
  };
  status?: { currentReplicas?: number; desiredReplicas?: number; [key: string]: unknown };
}

/** `policy/v1 PodDisruptionBudget`. */
export interface PodDisruptionBudget extends KubeObject {
  kind: 'PodDisruptionBudget';
  spec?: {
    selector?: LabelSelector;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    [key: string]: unknown;
  };
}

/** `v1 ConfigMap`. */
export interface ConfigMap extends KubeObject {
  kind: 'ConfigMap';
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** `v1 Secret` (values of `data` are base64). */
export interface Secret extends KubeObject {
  kind: 'Secret';
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** `coordination.k8s.io/v1 Lease`, the deploy lock. */
export interface Lease extends KubeObject {
  kind: 'Lease';
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
    [key: string]: unknown;
  };
}

/** `networking.k8s.io/v1 Ingress`. */
export interface Ingress extends KubeObject {
  kind: 'Ingress';
  spec?: {
    ingressClassName?: string;
    rules?: {
      host?: string;
      http?: {
        paths: {
          path?: string;
          pathType?: string;
          backend: { service?: { name: string; port: { number?: number; name?: string } } };
        }[];
      };
    }[];
    tls?: { hosts?: string[]; secretName?: string }[];
    [key: string]: unknown;
  };
}

/** A list as the API server (or `kubectl get -o json`) returns it. */
export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** `kind/namespace/name` (namespace empty for cluster-scoped objects): a stable key for maps and messages. */
export function objectKey(obj: Pick<KubeObject, 'kind' | 'metadata'>): string {
  return `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/** Whether a value has the shape of a Kubernetes object (apiVersion, kind, metadata.name). */
export function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  const meta = v['metadata'];
  return (
    typeof v['apiVersion'] === 'string' &&
    v['apiVersion'] !== '' &&
    typeof v['kind'] === 'string' &&
    v['kind'] !== '' &&
    typeof meta === 'object' &&
    meta !== null &&
    typeof (meta as Record<string, unknown>)['name'] === 'string' &&
    (meta as Record<string, unknown>)['name'] !== ''
  );
}

/** Narrowing helpers for the views above, by kind. */
export function isDeployment(obj: KubeObject): obj is Deployment {
  return obj.kind === 'Deployment';
}
/** Whether `obj` is a StatefulSet. */
export function isStatefulSet(obj: KubeObject): obj is StatefulSet {
  return obj.kind === 'StatefulSet';
}
/** Whether `obj` is a DaemonSet. */
export function isDaemonSet(obj: KubeObject): obj is DaemonSet {
  return obj.kind === 'DaemonSet';
}
/** Whether `obj` is a Service. */
export function isService(obj: KubeObject): obj is Service {
  return obj.kind === 'Service';
}
/** Whether `obj` is a HorizontalPodAutoscaler. */
export function isHorizontalPodAutoscaler(obj: KubeObject): obj is HorizontalPodAutoscaler {
  return obj.kind === 'HorizontalPodAutoscaler';
}
/** Whether `obj` is a PodDisruptionBudget. */
export function isPodDisruptionBudget(obj: KubeObject): obj is PodDisruptionBudget {
  return obj.kind === 'PodDisruptionBudget';
}

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * Every container image in an object, in document order: any `containers`, `initContainers` or
 * `ephemeralContainers` list at any depth, the same places kustomize's image transformer looks, so
 * Pods, Deployments, CronJobs and custom resources with pod templates are all covered.
 */
export function containerImages(obj: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      if (CONTAINER_LISTS.has(key) && Array.isArray(child)) {
        for (const c of child) {
          const image = (c as Record<string, unknown> | null)?.['image'];
          if (typeof image === 'string' && image !== '') found.push(image);
        }
      } else {
        walk(child);
      }
    }
  };
  walk(obj);
  return found;
}
