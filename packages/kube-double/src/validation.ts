import type { StatusCause } from './api-status.js';
import {
  isJsonObject,
  jsonEqual,
  objectAt,
  objectsAt,
  stringAt,
  stringMapAt,
  type JsonObject,
  type JsonValue,
} from './json-value.js';
import { fromLabelSelectorObject, matchesLabels } from './label-selector.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS_1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/** A value printed the way Go's `%#v` prints it in the real server's messages, near enough. */
function goValue(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (isJsonObject(value) && Object.values(value).every((v) => typeof v === 'string'))
    return `map[string]string{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join(', ')}}`;
  return JSON.stringify(value);
}

function required(field: string): StatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}
function invalidValue(field: string, value: JsonValue | undefined, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${goValue(value)}: ${detail}`, field };
}

/**
 * The 422 causes for an object the real server would reject: names, selectors that do not match
 * their template, missing containers or ports, and immutable fields changed on update.
 */
export function validateObject(kind: string, object: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const metadata = objectAt(object, 'metadata');
  const name = stringAt(metadata, 'name') ?? '';
  const [pattern, message] =
    kind === 'Namespace'
      ? [DNS_LABEL, LABEL_MESSAGE]
      : kind === 'Service'
        ? [DNS_1035, DNS_1035_MESSAGE]
        : [DNS_SUBDOMAIN, SUBDOMAIN_MESSAGE];
  if (name === '')
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  else if (!pattern.test(name) || name.length > 253)
    causes.push(invalidValue('metadata.name', name, message));
  validateLabels(stringMapAt(metadata, 'labels'), 'metadata.labels', causes);

  const spec = objectAt(object, 'spec');
  switch (kind) {
    case 'Deployment':
    case 'ReplicaSet':
      validateWorkload(spec, old, causes);
      break;
    case 'Pod':
      validatePodSpec(spec, 'spec', causes);
      break;
    case 'Service':
      validateService(spec, causes);
      break;
    default:
      break;
  }
  return causes;
}

function validateLabels(
  labels: Readonly<Record<string, string>>,
  field: string,
  causes: StatusCause[],
): void {
  for (const v of Object.values(labels))
    if (!LABEL_VALUE.test(v) || v.length > 63)
      causes.push(
        invalidValue(
          field,
          v,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
}

function validateWorkload(
  spec: JsonObject | undefined,
  old: JsonObject | undefined,
  causes: StatusCause[],
): void {
  const selectorObject = objectAt(spec, 'selector');
  const selector = fromLabelSelectorObject(selectorObject);
  if (selector === undefined) causes.push(required('spec.selector'));
  else if (selector.length === 0)
    causes.push(
      invalidValue('spec.selector', selectorObject ?? null, 'empty selector is invalid for deployment'),
    );
  const template = objectAt(spec, 'template');
  const templateLabels = stringMapAt(objectAt(template, 'metadata'), 'labels');
  if (selector !== undefined && selector.length > 0 && !matchesLabels(selector, templateLabels))
    causes.push(
      invalidValue(
        'spec.template.metadata.labels',
        objectAt(objectAt(template, 'metadata'), 'labels') ?? {},
        '`selector` does not match template `labels`',
      ),
    );
  const replicas = spec?.replicas;
  if (typeof replicas === 'number' && replicas < 0)
    causes.push(invalidValue('spec.replicas', replicas, 'must be greater than or equal to 0'));
  validatePodSpec(objectAt(template, 'spec'), 'spec.template.spec', causes);
  const oldSelector = objectAt(objectAt(old, 'spec'), 'selector');
  if (old !== undefined && selectorObject !== undefined && !jsonEqual(oldSelector, selectorObject))
    causes.push(invalidValue('spec.selector', selectorObject, 'field is immutable'));
}

function validatePodSpec(spec: JsonObject | undefined, field: string, causes: StatusCause[]): void {
  const containers = objectsAt(spec, 'containers');
  if (containers.length === 0) {
    causes.push(required(`${field}.containers`));
    return;
  }
  const names = new Set<string>();
  containers.forEach((c, i) => {
    const name = stringAt(c, 'name');
    if (name === undefined || name === '') causes.push(required(`${field}.containers[${i}].name`));
    else if (names.has(name))
      causes.push({
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: ${JSON.stringify(name)}`,
        field: `${field}.containers[${i}].name`,
      });
    else names.add(name);
    if ((stringAt(c, 'image') ?? '').trim() === '') causes.push(required(`${field}.containers[${i}].image`));
  });
}

function validateService(spec: JsonObject | undefined, causes: StatusCause[]): void {
  const type = stringAt(spec, 'type') ?? 'ClusterIP';
  const ports = objectsAt(spec, 'ports');
  if (type !== 'ExternalName' && ports.length === 0 && stringAt(spec, 'clusterIP') !== 'None')
    causes.push(required('spec.ports'));
  ports.forEach((p, i) => {
    const port = p.port;
    if (typeof port !== 'number' || port < 1 || port > 65535)
      causes.push(invalidValue(`spec.ports[${i}].port`, port ?? 0, 'must be between 1 and 65535, inclusive'));
    if (ports.length > 1 && (stringAt(p, 'name') ?? '') === '')
      causes.push(required(`spec.ports[${i}].name`));
  });
}

const METADATA_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];
const CONTAINER_FIELDS = [
  'name',
  'image',
  'command',
  'args',
  'workingDir',
  'ports',
  'envFrom',
  'env',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'volumeMounts',
  'volumeDevices',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'imagePullPolicy',
  'securityContext',
  'stdin',
  'stdinOnce',
  'tty',
];
const POD_SPEC_FIELDS = [
  'volumes',
  'initContainers',
  'containers',
  'ephemeralContainers',
  'restartPolicy',
  'terminationGracePeriodSeconds',
  'activeDeadlineSeconds',
  'dnsPolicy',
  'nodeSelector',
  'serviceAccountName',
  'serviceAccount',
  'automountServiceAccountToken',
  'nodeName',
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'shareProcessNamespace',
  'securityContext',
  'imagePullSecrets',
  'hostname',
  'subdomain',
  'affinity',
  'schedulerName',
  'tolerations',
  'hostAliases',
  'priorityClassName',
  'priority',
  'dnsConfig',
  'readinessGates',
  'runtimeClassName',
  'enableServiceLinks',
  'preemptionPolicy',
  'overhead',
  'topologySpreadConstraints',
  'setHostnameAsFQDN',
  'os',
  'hostUsers',
  'schedulingGates',
  'resourceClaims',
  'resources',
];
const TOP_LEVEL: Readonly<Record<string, readonly string[]>> = {
  ConfigMap: ['data', 'binaryData', 'immutable'],
  Secret: ['data', 'stringData', 'type', 'immutable'],
  Endpoints: ['subsets'],
  EndpointSlice: ['addressType', 'endpoints', 'ports'],
  Event: [
    'involvedObject',
    'reason',
    'message',
    'source',
    'firstTimestamp',
    'lastTimestamp',
    'count',
    'type',
    'eventTime',
    'series',
    'action',
    'related',
    'reportingComponent',
    'reportingInstance',
  ],
};
const SPEC_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Deployment: [
    'replicas',
    'selector',
    'template',
    'strategy',
    'minReadySeconds',
    'revisionHistoryLimit',
    'paused',
    'progressDeadlineSeconds',
  ],
  ReplicaSet: ['replicas', 'minReadySeconds', 'selector', 'template'],
  Service: [
    'ports',
    'selector',
    'clusterIP',
    'clusterIPs',
    'type',
    'externalIPs',
    'sessionAffinity',
    'loadBalancerIP',
    'loadBalancerSourceRanges',
    'externalName',
    'externalTrafficPolicy',
    'healthCheckNodePort',
    'publishNotReadyAddresses',
    'sessionAffinityConfig',
    'ipFamilies',
    'ipFamilyPolicy',
    'allocateLoadBalancerNodePorts',
    'loadBalancerClass',
    'internalTrafficPolicy',
    'trafficDistribution',
  ],
};

/**
 * The fields the real server would call unknown under `fieldValidation=Strict`, as it names them
 * (`spec.replicass`, `spec.template.spec.containers[0].imagee`). Checks the fields whose schema is
 * small and stable: the top level, metadata, workload and Service specs, pod specs and containers.
 */
export function unknownFields(kind: string, object: JsonObject): string[] {
  const found: string[] = [];
  const check = (value: JsonValue | undefined, allowed: readonly string[], path: string): void => {
    if (!isJsonObject(value)) return;
    for (const key of Object.keys(value))
      if (!allowed.includes(key)) found.push(path === '' ? key : `${path}.${key}`);
  };
  const top = ['apiVersion', 'kind', 'metadata', ...(TOP_LEVEL[kind] ?? ['spec', 'status'])];
  check(object, top, '');
  check(object.metadata, METADATA_FIELDS, 'metadata');
  const spec = objectAt(object, 'spec');
  const specFields = SPEC_FIELDS[kind];
  if (specFields !== undefined) check(spec, specFields, 'spec');
  const podSpecs: [JsonObject | undefined, string][] = [];
  if (kind === 'Pod') podSpecs.push([spec, 'spec']);
  if (kind === 'Deployment' || kind === 'ReplicaSet') {
    const template = objectAt(spec, 'template');
    check(template, ['metadata', 'spec'], 'spec.template');
    check(template?.metadata, METADATA_FIELDS, 'spec.template.metadata');
    podSpecs.push([objectAt(template, 'spec'), 'spec.template.spec']);
  }
  for (const [podSpec, path] of podSpecs) {
    check(podSpec, POD_SPEC_FIELDS, path);
    for (const list of ['containers', 'initContainers'])
      objectsAt(podSpec, list).forEach((c, i) => {
        check(c, CONTAINER_FIELDS, `${path}.${list}[${i}]`);
      });
  }
  return found;
}
