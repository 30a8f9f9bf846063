import type { JsonValue } from './json-value.js';

/**
 * How merges see a field: the little of the OpenAPI schema that server-side apply (list keys, atomic
 * fields) and strategic merge patch (merge keys, retainKeys) need, for the built-in types served.
 * Fields not listed are "unknown": objects merge field by field, arrays are replaced whole.
 */
export type SchemaNode =
  | {
      readonly type: 'struct';
      readonly fields: Readonly<Record<string, SchemaNode>>;
      /** Server-side apply owns it as one value (`x-kubernetes-map-type: atomic`). */
      readonly atomic?: boolean;
      /** Strategic merge patch honours `$retainKeys` here. */
      readonly retainKeys?: boolean;
    }
  | {
      /** A string-keyed map whose entries are owned separately (labels, annotations, data). */
      readonly type: 'map';
      readonly values: SchemaNode;
      readonly atomic?: boolean;
    }
  | {
      /** An associative list (`x-kubernetes-list-type: map`). */
      readonly type: 'list';
      /** The apply keys (`x-kubernetes-list-map-keys`). */
      readonly keys: readonly string[];
      /** Values the server fills in for missing keys before matching (protocol: TCP). */
      readonly keyDefaults: Readonly<Record<string, JsonValue>>;
      /** The strategic merge key (`patchMergeKey`). */
      readonly mergeKey: string;
      readonly item: SchemaNode;
    }
  | { /** A list of scalars merged as a set (finalizers). */ readonly type: 'set' }
  | { /** Replaced whole by every writer. */ readonly type: 'atomic' }
  | { /** Anything not described: decided by the value's shape. */ readonly type: 'unknown' };

/** The node for fields not described. */
export const UNKNOWN: SchemaNode = { type: 'unknown' };
const ATOMIC: SchemaNode = { type: 'atomic' };
const SET: SchemaNode = { type: 'set' };

function struct(
  fields: Readonly<Record<string, SchemaNode>>,
  extra: { atomic?: boolean; retainKeys?: boolean } = {},
): SchemaNode {
  return { type: 'struct', fields, ...extra };
}
function map(atomic = false): SchemaNode {
  return { type: 'map', values: UNKNOWN, ...(atomic ? { atomic } : {}) };
}
function list(
  keys: readonly string[],
  item: SchemaNode = UNKNOWN,
  options: { mergeKey?: string; keyDefaults?: Readonly<Record<string, JsonValue>> } = {},
): SchemaNode {
  return {
    type: 'list',
    keys,
    item,
    mergeKey: options.mergeKey ?? keys[0] ?? 'name',
    keyDefaults: options.keyDefaults ?? {},
  };
}

const OBJECT_META = struct({
  labels: map(),
  annotations: map(),
  finalizers: SET,
  ownerReferences: list(['uid']),
});

const CONDITIONS = list(['type']);

const CONTAINER = struct({
  ports: list(['containerPort', 'protocol'], UNKNOWN, {
    mergeKey: 'containerPort',
    keyDefaults: { protocol: 'TCP' },
  }),
  env: list(['name']),
  volumeMounts: list(['mountPath']),
  volumeDevices: list(['devicePath']),
  resources: struct({ limits: map(), requests: map() }),
  command: ATOMIC,
  args: ATOMIC,
  envFrom: ATOMIC,
});

const POD_SPEC = struct({
  containers: list(['name'], CONTAINER),
  initContainers: list(['name'], CONTAINER),
  ephemeralContainers: list(['name'], CONTAINER),
  volumes: list(['name'], struct({}, { retainKeys: true })),
  imagePullSecrets: list(['name']),
  hostAliases: list(['ip']),
  nodeSelector: map(true),
  topologySpreadConstraints: list(['topologyKey', 'whenUnsatisfiable'], UNKNOWN, { mergeKey: 'topologyKey' }),
  resourceClaims: list(['name']),
});

const POD_TEMPLATE = struct({ metadata: OBJECT_META, spec: POD_SPEC });
const LABEL_SELECTOR = struct({ matchLabels: map() }, { atomic: true });
const WORKLOAD_STATUS = struct({ conditions: CONDITIONS });

const KINDS: Readonly<Record<string, SchemaNode>> = {
  Deployment: struct({
    metadata: OBJECT_META,
    spec: struct({
      selector: LABEL_SELECTOR,
      template: POD_TEMPLATE,
      strategy: struct({}, { retainKeys: true }),
    }),
    status: WORKLOAD_STATUS,
  }),
  ReplicaSet: struct({
    metadata: OBJECT_META,
    spec: struct({ selector: LABEL_SELECTOR, template: POD_TEMPLATE }),
    status: WORKLOAD_STATUS,
  }),
  Pod: struct({
    metadata: OBJECT_META,
    spec: POD_SPEC,
    status: struct({ conditions: CONDITIONS, podIPs: list(['ip']), hostIPs: list(['ip']) }),
  }),
  Service: struct({
    metadata: OBJECT_META,
    spec: struct({
      ports: list(['port', 'protocol'], UNKNOWN, { mergeKey: 'port', keyDefaults: { protocol: 'TCP' } }),
      selector: map(true),
    }),
    status: struct({ conditions: CONDITIONS }),
  }),
  ConfigMap: struct({ metadata: OBJECT_META, data: map(), binaryData: map() }),
  Secret: struct({ metadata: OBJECT_META, data: map(), stringData: map() }),
  HorizontalPodAutoscaler: struct({ metadata: OBJECT_META, status: WORKLOAD_STATUS }),
  PodDisruptionBudget: struct({
    metadata: OBJECT_META,
    spec: struct({ selector: LABEL_SELECTOR }),
    status: WORKLOAD_STATUS,
  }),
  Namespace: struct({ metadata: OBJECT_META, status: WORKLOAD_STATUS }),
  StatefulSet: struct({
    metadata: OBJECT_META,
    spec: struct({ selector: LABEL_SELECTOR, template: POD_TEMPLATE, volumeClaimTemplates: ATOMIC }),
    status: WORKLOAD_STATUS,
  }),
  DaemonSet: struct({
    metadata: OBJECT_META,
    spec: struct({ selector: LABEL_SELECTOR, template: POD_TEMPLATE }),
    status: WORKLOAD_STATUS,
  }),
  Job: struct({
    metadata: OBJECT_META,
    spec: struct({ selector: LABEL_SELECTOR, template: POD_TEMPLATE }),
    status: WORKLOAD_STATUS,
  }),
  CronJob: struct({
    metadata: OBJECT_META,
    spec: struct({
      jobTemplate: struct({
        metadata: OBJECT_META,
        spec: struct({ selector: LABEL_SELECTOR, template: POD_TEMPLATE }),
      }),
    }),
  }),
  PersistentVolumeClaim: struct({
    metadata: OBJECT_META,
    spec: struct({ accessModes: ATOMIC, resources: struct({ limits: map(), requests: map() }) }),
    status: struct({ conditions: CONDITIONS, capacity: map() }),
  }),
  NetworkPolicy: struct({ metadata: OBJECT_META, spec: struct({ podSelector: LABEL_SELECTOR }) }),
  CustomResourceDefinition: struct({
    metadata: OBJECT_META,
    spec: struct({ versions: list(['name']) }),
    status: struct({ conditions: CONDITIONS }),
  }),
};

const GENERIC = struct({ metadata: OBJECT_META });

/** The schema of a kind's objects. */
export function schemaOfKind(kind: string): SchemaNode {
  return KINDS[kind] ?? GENERIC;
}

/** The node of a field inside a struct or map node. */
export function fieldSchema(node: SchemaNode, field: string): SchemaNode {
  if (node.type === 'struct') return node.fields[field] ?? UNKNOWN;
  if (node.type === 'map') return node.values;
  return UNKNOWN;
}

/** The node of the items of a list node. */
export function itemSchema(node: SchemaNode): SchemaNode {
  return node.type === 'list' ? node.item : UNKNOWN;
}
