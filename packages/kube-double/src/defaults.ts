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
    default:
      break;
  }
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
