import type { StatusCause } from './api-status.js';
import { validateCustomResourceDefinition } from './crd-validation.js';
import { cronScheduleError } from './cron-schedule.js';
import { parseMilli } from './quantity.js';
import {
  arrayAt,
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
    return goStringMap(value);
  return JSON.stringify(value);
}

/** `map[string]string{"a":"1", "b":"2"}`: Go prints map keys sorted. */
function goStringMap(value: JsonObject | undefined): string {
  const entries = Object.entries(value ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[string]string{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
}

/** A LabelSelector as `%#v` prints it, the way the well-known "field is immutable" message shows it. */
function goLabelSelector(selector: JsonObject | undefined): string {
  const labels = objectAt(selector, 'matchLabels');
  const expressions = objectsAt(selector, 'matchExpressions');
  const matchLabels = labels === undefined ? 'map[string]string(nil)' : goStringMap(labels);
  const matchExpressions =
    expressions.length === 0
      ? '[]v1.LabelSelectorRequirement(nil)'
      : `[]v1.LabelSelectorRequirement{${expressions
          .map(
            (e) =>
              `v1.LabelSelectorRequirement{Key:${JSON.stringify(stringAt(e, 'key') ?? '')}, Operator:${JSON.stringify(stringAt(e, 'operator') ?? '')}, Values:[]string{${arrayAt(
                e,
                'values',
              )
                .map((v) => JSON.stringify(v))
                .join(', ')}}}`,
          )
          .join(', ')}}`;
  return `v1.LabelSelector{MatchLabels:${matchLabels}, MatchExpressions:${matchExpressions}}`;
}

function invalidRaw(field: string, shown: string, detail: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${detail}`, field };
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
    kind === 'Namespace' || kind === 'StatefulSet'
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
      validateWorkload(spec, old, causes, 'deployment');
      break;
    case 'StatefulSet':
      validateStatefulSet(spec, old, causes);
      break;
    case 'DaemonSet':
      validateWorkload(spec, old, causes, 'daemonset');
      requireRestartPolicy(spec, 'spec.template.spec', ['Always'], causes);
      break;
    case 'Job':
      validateJob(spec, old, causes);
      break;
    case 'CronJob':
      validateCronJob(name, spec, causes);
      break;
    case 'Pod':
      validatePodSpec(spec, 'spec', causes);
      break;
    case 'Service':
      validateService(spec, causes);
      break;
    case 'PersistentVolumeClaim':
      validateClaim(spec, old, causes);
      break;
    case 'Role':
    case 'ClusterRole':
      validateRules(object, causes);
      break;
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      validateBinding(kind, object, old, causes);
      break;
    case 'PriorityClass':
      if (typeof object.value !== 'number' || !Number.isInteger(object.value)) causes.push(required('value'));
      break;
    case 'IngressClass':
      if ((stringAt(spec, 'controller') ?? '') === '') causes.push(required('spec.controller'));
      break;
    case 'NetworkPolicy':
      for (const [i, t] of arrayAt(spec, 'policyTypes').entries())
        if (t !== 'Ingress' && t !== 'Egress')
          causes.push(unsupported(`spec.policyTypes[${i}]`, t, ['Ingress', 'Egress']));
      break;
    case 'CustomResourceDefinition':
      causes.push(...validateCustomResourceDefinition(object, old));
      break;
    default:
      break;
  }
  return causes;
}

function unsupported(field: string, value: JsonValue | undefined, allowed: readonly string[]): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    message: `Unsupported value: ${goValue(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
    field,
  };
}

function forbidden(field: string, detail: string): StatusCause {
  return { reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field };
}

function nonNegative(spec: JsonObject | undefined, key: string, prefix: string, causes: StatusCause[]): void {
  const value = spec?.[key];
  if (typeof value === 'number' && value < 0)
    causes.push(invalidValue(`${prefix}.${key}`, value, 'must be greater than or equal to 0'));
}

/** The pod template's restartPolicy must be one of `allowed` (after defaulting to Always). */
function requireRestartPolicy(
  spec: JsonObject | undefined,
  field: string,
  allowed: readonly string[],
  causes: StatusCause[],
): void {
  const policy = stringAt(objectAt(objectAt(spec, 'template'), 'spec'), 'restartPolicy') ?? 'Always';
  if (allowed.includes(policy)) return;
  // A Job's left at Always is "required", as the real server words it.
  if (policy === 'Always')
    causes.push({
      reason: 'FieldValueRequired',
      message: `Required value: valid values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
      field: `${field}.restartPolicy`,
    });
  else causes.push(unsupported(`${field}.restartPolicy`, policy, allowed));
}

/** The StatefulSet spec fields an update may change; the real server forbids the rest. */
const STATEFULSET_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

function validateStatefulSet(
  spec: JsonObject | undefined,
  old: JsonObject | undefined,
  causes: StatusCause[],
): void {
  validateWorkload(spec, undefined, causes, 'statefulset');
  requireRestartPolicy(spec, 'spec.template.spec', ['Always'], causes);
  if (objectAt(objectAt(spec, 'template'), 'spec')?.activeDeadlineSeconds !== undefined)
    causes.push(
      forbidden(
        'spec.template.spec.activeDeadlineSeconds',
        'activeDeadlineSeconds in StatefulSet is not Supported',
      ),
    );
  const policy = stringAt(spec, 'podManagementPolicy');
  if (policy !== undefined && policy !== 'OrderedReady' && policy !== 'Parallel')
    causes.push(invalidValue('spec.podManagementPolicy', policy, "must be 'OrderedReady' or 'Parallel'"));
  const strategy = objectAt(spec, 'updateStrategy');
  const strategyType = stringAt(strategy, 'type');
  if (strategyType !== undefined && strategyType !== 'RollingUpdate' && strategyType !== 'OnDelete')
    causes.push(
      invalidRaw(
        'spec.updateStrategy',
        `apps.StatefulSetUpdateStrategy{Type:${JSON.stringify(strategyType)}, RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(${objectAt(strategy, 'rollingUpdate') === undefined ? 'nil' : '...'})}`,
        "must be 'RollingUpdate' or 'OnDelete'",
      ),
    );
  nonNegative(objectAt(strategy, 'rollingUpdate'), 'partition', 'spec.updateStrategy.rollingUpdate', causes);
  // Claim templates are not validated here: a bad one fails later, as a FailedCreate event.
  if (old === undefined) return;
  const oldSpec = objectAt(old, 'spec') ?? {};
  const fixed = (s: JsonObject | undefined): JsonObject => {
    const copy: JsonObject = { ...(s ?? {}) };
    for (const k of STATEFULSET_MUTABLE) Reflect.deleteProperty(copy, k);
    return copy;
  };
  if (!jsonEqual(fixed(spec), fixed(oldSpec)))
    causes.push(
      forbidden(
        'spec',
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    );
}

function validateJob(spec: JsonObject | undefined, old: JsonObject | undefined, causes: StatusCause[]): void {
  validateWorkload(spec, old, causes, 'job');
  // Without manualSelector the selector is generated from the Job's uid; one written by hand that
  // lacks it is refused.
  if (old === undefined && spec?.manualSelector !== true) {
    const matchLabels = stringMapAt(objectAt(spec, 'selector'), 'matchLabels');
    if (matchLabels['batch.kubernetes.io/controller-uid'] === undefined)
      causes.push(
        invalidRaw(
          'spec.selector',
          goLabelSelector(objectAt(spec, 'selector')),
          '`selector` not auto-generated',
        ),
      );
  }
  requireRestartPolicy(spec, 'spec.template.spec', ['OnFailure', 'Never'], causes);
  for (const key of [
    'parallelism',
    'completions',
    'backoffLimit',
    'activeDeadlineSeconds',
    'ttlSecondsAfterFinished',
  ])
    nonNegative(spec, key, 'spec', causes);
  const oldTemplate = objectAt(objectAt(old, 'spec'), 'template');
  const template = objectAt(spec, 'template');
  if (old !== undefined && !jsonEqual(oldTemplate, template))
    causes.push(invalidValue('spec.template', template ?? null, 'field is immutable'));
  const oldCompletions = objectAt(old, 'spec')?.completions;
  if (old !== undefined && !jsonEqual(oldCompletions, spec?.completions))
    causes.push(invalidValue('spec.completions', spec?.completions ?? null, 'field is immutable'));
}

function validateCronJob(name: string, spec: JsonObject | undefined, causes: StatusCause[]): void {
  if (name.length > 52)
    causes.push(invalidValue('metadata.name', name, 'must be no more than 52 characters'));
  const schedule = stringAt(spec, 'schedule') ?? '';
  if (schedule === '') causes.push(required('spec.schedule'));
  else if (/^(CRON_)?TZ=/.test(schedule.trim()))
    causes.push(
      invalidValue(
        'spec.schedule',
        schedule,
        'cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
      ),
    );
  else {
    const problem = cronScheduleError(schedule);
    if (problem !== undefined) causes.push(invalidValue('spec.schedule', schedule, problem));
  }
  const policy = stringAt(spec, 'concurrencyPolicy');
  if (policy !== undefined && !['Allow', 'Forbid', 'Replace'].includes(policy))
    causes.push(unsupported('spec.concurrencyPolicy', policy, ['Allow', 'Forbid', 'Replace']));
  const jobSpec = objectAt(objectAt(spec, 'jobTemplate'), 'spec');
  requireRestartPolicy(jobSpec, 'spec.jobTemplate.spec.template.spec', ['OnFailure', 'Never'], causes);
  validatePodSpec(
    objectAt(objectAt(jobSpec, 'template'), 'spec'),
    'spec.jobTemplate.spec.template.spec',
    causes,
  );
}

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];

function validateClaimSpec(spec: JsonObject | undefined, field: string, causes: StatusCause[]): void {
  const modes = arrayAt(spec, 'accessModes');
  if (modes.length === 0)
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: at least 1 access mode is required',
      field: `${field}.accessModes`,
    });
  for (const mode of modes)
    if (typeof mode !== 'string' || !ACCESS_MODES.includes(mode))
      causes.push(unsupported(`${field}.accessModes`, mode, ACCESS_MODES));
  const storage = objectAt(objectAt(spec, 'resources'), 'requests')?.storage;
  if (storage === undefined) causes.push(required(`${field}.resources[storage]`));
}

function validateClaim(
  spec: JsonObject | undefined,
  old: JsonObject | undefined,
  causes: StatusCause[],
): void {
  validateClaimSpec(spec, 'spec', causes);
  if (old === undefined) return;
  const storage = (s: JsonObject | undefined): string | undefined =>
    stringAt(objectAt(objectAt(s, 'resources'), 'requests'), 'storage');
  const bound = stringAt(objectAt(old, 'status'), 'phase') === 'Bound';
  const before = parseMilli(storage(objectAt(old, 'spec')) ?? '0') ?? 0;
  const after = parseMilli(storage(spec) ?? '0') ?? 0;
  if (bound && after < before)
    causes.push(forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
  const fixed = (s: JsonObject | undefined): JsonObject => {
    const copy: JsonObject = { ...(s ?? {}) };
    // Requests may change only on a bound claim.
    if (bound) Reflect.deleteProperty(copy, 'resources');
    Reflect.deleteProperty(copy, 'volumeAttributesClassName');
    // The binder fills these in; a later apply that leaves them out keeps them.
    Reflect.deleteProperty(copy, 'volumeName');
    Reflect.deleteProperty(copy, 'storageClassName');
    return copy;
  };
  const oldSpec = objectAt(old, 'spec');
  const changedBinding =
    (stringAt(spec, 'volumeName') ?? stringAt(oldSpec, 'volumeName')) !== stringAt(oldSpec, 'volumeName') ||
    (stringAt(spec, 'storageClassName') ?? stringAt(oldSpec, 'storageClassName')) !==
      stringAt(oldSpec, 'storageClassName');
  if (!jsonEqual(fixed(spec), fixed(oldSpec)) || changedBinding)
    causes.push(
      forbidden(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
}

function validateRules(object: JsonObject, causes: StatusCause[]): void {
  objectsAt(object, 'rules').forEach((rule, i) => {
    if (arrayAt(rule, 'verbs').length === 0)
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: verbs must contain at least one value',
        field: `rules[${i}].verbs`,
      });
    if (arrayAt(rule, 'nonResourceURLs').length > 0) return;
    if (arrayAt(rule, 'apiGroups').length === 0)
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: resource rules must supply at least one api group',
        field: `rules[${i}].apiGroups`,
      });
    if (arrayAt(rule, 'resources').length === 0)
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: resource rules must supply at least one resource',
        field: `rules[${i}].resources`,
      });
  });
}

function validateBinding(
  kind: string,
  object: JsonObject,
  old: JsonObject | undefined,
  causes: StatusCause[],
): void {
  const roleRef = objectAt(object, 'roleRef');
  const refKind = stringAt(roleRef, 'kind') ?? '';
  const allowed = kind === 'RoleBinding' ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  // roleRef is a struct: a missing one is its three fields missing, checked in this order.
  if (stringAt(roleRef, 'apiGroup') !== 'rbac.authorization.k8s.io')
    causes.push(
      unsupported('roleRef.apiGroup', stringAt(roleRef, 'apiGroup') ?? '', ['rbac.authorization.k8s.io']),
    );
  if (!allowed.includes(refKind)) causes.push(unsupported('roleRef.kind', refKind, allowed));
  if ((stringAt(roleRef, 'name') ?? '') === '') causes.push(required('roleRef.name'));
  const oldRef = objectAt(old, 'roleRef');
  if (old !== undefined && !jsonEqual(oldRef, roleRef))
    causes.push(
      invalidRaw(
        'roleRef',
        `rbac.RoleRef{APIGroup:${JSON.stringify(stringAt(roleRef, 'apiGroup') ?? '')}, Kind:${JSON.stringify(refKind)}, Name:${JSON.stringify(stringAt(roleRef, 'name') ?? '')}}`,
        'cannot change roleRef',
      ),
    );
  objectsAt(object, 'subjects').forEach((subject, i) => {
    const subjectKind = stringAt(subject, 'kind') ?? '';
    if (!['ServiceAccount', 'User', 'Group'].includes(subjectKind))
      causes.push(unsupported(`subjects[${i}].kind`, subjectKind, ['ServiceAccount', 'User', 'Group']));
    if ((stringAt(subject, 'name') ?? '') === '') causes.push(required(`subjects[${i}].name`));
    if (
      subjectKind === 'ServiceAccount' &&
      kind === 'ClusterRoleBinding' &&
      stringAt(subject, 'namespace') === undefined
    )
      causes.push(required(`subjects[${i}].namespace`));
  });
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
  noun: string,
): void {
  const selectorObject = objectAt(spec, 'selector');
  const selector = fromLabelSelectorObject(selectorObject);
  // A missing selector selects nothing: the real server says it is required (but for DaemonSets)
  // and that it does not match the template.
  if (selector === undefined && noun !== 'daemonset') causes.push(required('spec.selector'));
  else if (selector !== undefined && selector.length === 0)
    causes.push(
      invalidRaw('spec.selector', goLabelSelector(selectorObject), `empty selector is invalid for ${noun}`),
    );
  const template = objectAt(spec, 'template');
  const templateLabels = stringMapAt(objectAt(template, 'metadata'), 'labels');
  if (selector === undefined || (selector.length > 0 && !matchesLabels(selector, templateLabels)))
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
    causes.push(invalidRaw('spec.selector', goLabelSelector(selectorObject), 'field is immutable'));
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
  if (type === 'ExternalName' && (stringAt(spec, 'externalName') ?? '') === '')
    causes.push(required('spec.externalName'));
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
  ServiceAccount: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  Role: ['rules'],
  ClusterRole: ['rules', 'aggregationRule'],
  RoleBinding: ['subjects', 'roleRef'],
  ClusterRoleBinding: ['subjects', 'roleRef'],
  PriorityClass: ['value', 'globalDefault', 'description', 'preemptionPolicy'],
  StorageClass: [
    'provisioner',
    'parameters',
    'reclaimPolicy',
    'mountOptions',
    'allowVolumeExpansion',
    'volumeBindingMode',
    'allowedTopologies',
  ],
  ControllerRevision: ['data', 'revision'],
  LimitRange: ['spec'],
  NetworkPolicy: ['spec'],
  IngressClass: ['spec'],
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
  StatefulSet: [
    'replicas',
    'selector',
    'template',
    'volumeClaimTemplates',
    'serviceName',
    'podManagementPolicy',
    'updateStrategy',
    'revisionHistoryLimit',
    'minReadySeconds',
    'persistentVolumeClaimRetentionPolicy',
    'ordinals',
  ],
  DaemonSet: ['selector', 'template', 'updateStrategy', 'minReadySeconds', 'revisionHistoryLimit'],
  Job: [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'podFailurePolicy',
    'successPolicy',
    'backoffLimit',
    'backoffLimitPerIndex',
    'maxFailedIndexes',
    'selector',
    'manualSelector',
    'template',
    'ttlSecondsAfterFinished',
    'completionMode',
    'suspend',
    'podReplacementPolicy',
    'managedBy',
  ],
  CronJob: [
    'schedule',
    'timeZone',
    'startingDeadlineSeconds',
    'concurrencyPolicy',
    'suspend',
    'jobTemplate',
    'successfulJobsHistoryLimit',
    'failedJobsHistoryLimit',
  ],
  PersistentVolumeClaim: [
    'accessModes',
    'selector',
    'resources',
    'volumeName',
    'storageClassName',
    'volumeMode',
    'dataSource',
    'dataSourceRef',
    'volumeAttributesClassName',
  ],
  NetworkPolicy: ['podSelector', 'ingress', 'egress', 'policyTypes'],
  IngressClass: ['controller', 'parameters'],
  Ingress: ['ingressClassName', 'defaultBackend', 'tls', 'rules'],
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
  const templates: [JsonObject | undefined, string][] = [];
  if (['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job'].includes(kind))
    templates.push([objectAt(spec, 'template'), 'spec.template']);
  if (kind === 'CronJob') {
    const jobTemplate = objectAt(spec, 'jobTemplate');
    check(jobTemplate, ['metadata', 'spec'], 'spec.jobTemplate');
    check(objectAt(jobTemplate, 'spec'), SPEC_FIELDS.Job ?? [], 'spec.jobTemplate.spec');
    templates.push([objectAt(objectAt(jobTemplate, 'spec'), 'template'), 'spec.jobTemplate.spec.template']);
  }
  for (const [template, path] of templates) {
    check(template, ['metadata', 'spec'], path);
    check(template?.metadata, METADATA_FIELDS, `${path}.metadata`);
    podSpecs.push([objectAt(template, 'spec'), `${path}.spec`]);
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
