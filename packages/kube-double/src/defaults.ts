import { defaultCustomResourceDefinition } from './crd-validation.js';
import { ensureObject, isJsonObject, objectAt, objectsAt, stringAt, type JsonObject } from './json-value.js';

/**
 * Fills in the defaults the real API server sets, so that objects read back (and diffed, and
 * hashed into pod-template-hash) look like a real cluster's. Mutates `object`.
 */
export function applyDefaults(kind: string, object: JsonObject): void {
  switch (kind) {
    case 'Deployment':
      defaultDeployment(object);
      break;
    case 'ReplicaSet': {
      const spec = ensureObject(object, 'spec');
      spec.replicas ??= 1;
      defaultPodTemplate(spec);
      break;
    }
    case 'Pod':
      defaultPodSpec(ensureObject(object, 'spec'), true);
      break;
    case 'Service':
      defaultService(object);
      break;
    case 'Secret':
      defaultSecret(object);
      break;
    case 'Namespace': {
      const metadata = ensureObject(object, 'metadata');
      const labels = ensureObject(metadata, 'labels');
      labels['kubernetes.io/metadata.name'] = stringAt(metadata, 'name') ?? '';
      const spec = ensureObject(object, 'spec');
      spec.finalizers ??= ['kubernetes'];
      const status = ensureObject(object, 'status');
      status.phase ??= 'Active';
      break;
    }
    case 'HorizontalPodAutoscaler': {
      const spec = ensureObject(object, 'spec');
      spec.minReplicas ??= 1;
      break;
    }
    case 'StatefulSet':
      defaultStatefulSet(object);
      break;
    case 'DaemonSet':
      defaultDaemonSet(object);
      break;
    case 'Job': {
      defaultJobSpec(ensureObject(object, 'spec'));
      // A Job without labels of its own shows its pods' (the generated job-name and uid among them).
      const metadata = ensureObject(object, 'metadata');
      const templateLabels = objectAt(objectAt(objectAt(object, 'spec'), 'template'), 'metadata')?.labels;
      if (!isJsonObject(metadata.labels) && isJsonObject(templateLabels))
        metadata.labels = { ...templateLabels };
      break;
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      defaultBinding(object);
      break;
    case 'CronJob':
      defaultCronJob(object);
      break;
    case 'PersistentVolumeClaim':
      defaultClaim(object);
      break;
    case 'PersistentVolume': {
      const spec = ensureObject(object, 'spec');
      spec.persistentVolumeReclaimPolicy ??= 'Retain';
      spec.volumeMode ??= 'Filesystem';
      ensureObject(object, 'status').phase ??= 'Pending';
      break;
    }
    case 'NetworkPolicy':
      defaultNetworkPolicy(object);
      break;
    case 'PriorityClass':
      object.preemptionPolicy ??= 'PreemptLowerPriority';
      break;
    case 'StorageClass':
      object.reclaimPolicy ??= 'Delete';
      object.volumeBindingMode ??= 'Immediate';
      break;
    case 'CustomResourceDefinition':
      defaultCustomResourceDefinition(object);
      break;
    case 'Endpoints':
      for (const subset of objectsAt(object, 'subsets'))
        for (const port of objectsAt(subset, 'ports')) port.protocol ??= 'TCP';
      break;
    default:
      break;
  }
}

function defaultStatefulSet(object: JsonObject): void {
  const spec = ensureObject(object, 'spec');
  spec.replicas ??= 1;
  spec.podManagementPolicy ??= 'OrderedReady';
  const strategy = ensureObject(spec, 'updateStrategy');
  // Only a strategy left empty gets a partition: an explicit RollingUpdate without one keeps none.
  if (strategy.type === undefined) {
    strategy.type = 'RollingUpdate';
    ensureObject(strategy, 'rollingUpdate').partition ??= 0;
  } else if (strategy.type === 'RollingUpdate' && isJsonObject(strategy.rollingUpdate))
    strategy.rollingUpdate.partition ??= 0;
  spec.revisionHistoryLimit ??= 10;
  const retention = ensureObject(spec, 'persistentVolumeClaimRetentionPolicy');
  retention.whenDeleted ??= 'Retain';
  retention.whenScaled ??= 'Retain';
  for (const claim of objectsAt(spec, 'volumeClaimTemplates')) {
    claim.apiVersion ??= 'v1';
    claim.kind ??= 'PersistentVolumeClaim';
    ensureObject(claim, 'spec').volumeMode ??= 'Filesystem';
    ensureObject(claim, 'status').phase ??= 'Pending';
  }
  defaultPodTemplate(spec);
}

function defaultDaemonSet(object: JsonObject): void {
  const spec = ensureObject(object, 'spec');
  const strategy = ensureObject(spec, 'updateStrategy');
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const rolling = ensureObject(strategy, 'rollingUpdate');
    rolling.maxUnavailable ??= 1;
    rolling.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultPodTemplate(spec);
}

function defaultJobSpec(spec: JsonObject): void {
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  defaultPodTemplate(spec);
}

function defaultCronJob(object: JsonObject): void {
  const spec = ensureObject(object, 'spec');
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  const jobTemplate = ensureObject(spec, 'jobTemplate');
  const jobSpec = ensureObject(jobTemplate, 'spec');
  const template = ensureObject(jobSpec, 'template');
  const metadata = ensureObject(template, 'metadata');
  if (metadata.creationTimestamp === undefined) metadata.creationTimestamp = null;
  defaultPodSpec(ensureObject(template, 'spec'), false);
  const jobMeta = ensureObject(jobTemplate, 'metadata');
  if (jobMeta.creationTimestamp === undefined) jobMeta.creationTimestamp = null;
}

function defaultClaim(object: JsonObject): void {
  const spec = ensureObject(object, 'spec');
  spec.volumeMode ??= 'Filesystem';
  ensureObject(object, 'status').phase ??= 'Pending';
}

/** roleRef and User/Group subjects default to the RBAC API group; ServiceAccount subjects to none. */
function defaultBinding(object: JsonObject): void {
  const roleRef = objectAt(object, 'roleRef');
  if (roleRef !== undefined && (roleRef.apiGroup === undefined || roleRef.apiGroup === ''))
    roleRef.apiGroup = 'rbac.authorization.k8s.io';
  for (const subject of objectsAt(object, 'subjects'))
    if (subject.apiGroup === undefined)
      subject.apiGroup = subject.kind === 'ServiceAccount' ? '' : 'rbac.authorization.k8s.io';
}

function defaultNetworkPolicy(object: JsonObject): void {
  const spec = ensureObject(object, 'spec');
  spec.podSelector ??= {};
  if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
    const types = ['Ingress'];
    if (Array.isArray(spec.egress) && spec.egress.length > 0) types.push('Egress');
    spec.policyTypes = types;
  }
  for (const direction of ['ingress', 'egress'])
    for (const rule of objectsAt(spec, direction))
      for (const port of objectsAt(rule, 'ports')) port.protocol ??= 'TCP';
}

function defaultDeployment(object: JsonObject): void {
  const spec = ensureObject(object, 'spec');
  spec.replicas ??= 1;
  const strategy = ensureObject(spec, 'strategy');
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const rolling = ensureObject(strategy, 'rollingUpdate');
    rolling.maxUnavailable ??= '25%';
    rolling.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultPodTemplate(spec);
}

function defaultPodTemplate(spec: JsonObject): void {
  const template = ensureObject(spec, 'template');
  // The real server stores a template's zero creationTimestamp as null (and kubectl sends it back
  // that way in `rollout undo`), so templates compare equal whichever way they arrived.
  const metadata = ensureObject(template, 'metadata');
  if (metadata.creationTimestamp === undefined) metadata.creationTimestamp = null;
  defaultPodSpec(ensureObject(template, 'spec'), false);
}

function defaultPodSpec(spec: JsonObject, isPod: boolean): void {
  for (const key of ['containers', 'initContainers'])
    for (const container of objectsAt(spec, key)) defaultContainer(container);
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  if (isPod) {
    spec.serviceAccountName ??= 'default';
    spec.serviceAccount ??= spec.serviceAccountName;
    spec.enableServiceLinks ??= true;
    spec.preemptionPolicy ??= 'PreemptLowerPriority';
    spec.priority ??= 0;
  }
}

function defaultContainer(container: JsonObject): void {
  const image = stringAt(container, 'image') ?? '';
  const lastSegment = image.split('/').pop() ?? '';
  const untaggedOrLatest =
    !image.includes('@') && (!lastSegment.includes(':') || lastSegment.endsWith(':latest'));
  container.imagePullPolicy ??= untaggedOrLatest ? 'Always' : 'IfNotPresent';
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  container.resources ??= {};
  for (const port of objectsAt(container, 'ports')) port.protocol ??= 'TCP';
}

function defaultService(object: JsonObject): void {
  const spec = ensureObject(object, 'spec');
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  for (const port of objectsAt(spec, 'ports')) {
    port.protocol ??= 'TCP';
    port.targetPort ??= port.port ?? 0;
  }
  const status = ensureObject(object, 'status');
  if (!isJsonObject(status.loadBalancer)) status.loadBalancer = {};
}

function defaultSecret(object: JsonObject): void {
  object.type ??= 'Opaque';
  const stringData = objectAt(object, 'stringData');
  if (stringData !== undefined) {
    const data = ensureObject(object, 'data');
    for (const [k, v] of Object.entries(stringData))
      if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    Reflect.deleteProperty(object, 'stringData');
  }
}
