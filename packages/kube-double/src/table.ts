import {
  textOf,
  arrayAt,
  numberAt,
  objectAt,
  objectsAt,
  stringAt,
  stringMapAt,
  type JsonObject,
  type JsonValue,
} from './json-value.js';
import { formatLabelSelector, fromLabelMap, fromLabelSelectorObject } from './label-selector.js';
import { evaluateJsonPath } from './json-path.js';
import type { PrinterColumn, ResourceType } from './resource-table.js';

/** What a Table row carries besides its cells (`includeObject`). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
  readonly priority?: number;
  readonly cell: (object: JsonObject, now: number) => JsonValue;
}

/** `5m`, `2d3h`: the real server's HumanDuration of how long ago something happened. */
export function humanAge(iso: string | undefined, now: number): string {
  if (iso === undefined) return '<unknown>';
  const seconds = Math.floor((now - Date.parse(iso)) / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

const NAME: Column = {
  name: 'Name',
  type: 'string',
  cell: (o) => stringAt(objectAt(o, 'metadata'), 'name') ?? '',
};
const AGE: Column = {
  name: 'Age',
  type: 'string',
  cell: (o, now) => humanAge(stringAt(objectAt(o, 'metadata'), 'creationTimestamp'), now),
};

const spec = (o: JsonObject): JsonObject | undefined => objectAt(o, 'spec');
const status = (o: JsonObject): JsonObject | undefined => objectAt(o, 'status');
const int = (o: JsonObject | undefined, k: string): number => numberAt(o, k) ?? 0;

function containersOf(o: JsonObject): JsonObject[] {
  return objectsAt(objectAt(objectAt(spec(o), 'template'), 'spec'), 'containers');
}

const WORKLOAD_WIDE: Column[] = [
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    cell: (o) =>
      containersOf(o)
        .map((c) => stringAt(c, 'name') ?? '')
        .join(','),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    cell: (o) =>
      containersOf(o)
        .map((c) => stringAt(c, 'image') ?? '')
        .join(','),
  },
  {
    name: 'Selector',
    type: 'string',
    priority: 1,
    cell: (o) => formatLabelSelector(fromLabelSelectorObject(objectAt(spec(o), 'selector')) ?? []),
  },
];

/** The Status column of `kubectl get pods`: a finished container's reason (Completed, Error) over the phase. */
function podStatus(o: JsonObject): string {
  if (objectAt(o, 'metadata')?.deletionTimestamp !== undefined) return 'Terminating';
  let reason = stringAt(status(o), 'phase') ?? 'Pending';
  for (const c of objectsAt(status(o), 'containerStatuses')) {
    const state = objectAt(c, 'state');
    const waiting = stringAt(objectAt(state, 'waiting'), 'reason');
    const terminated = objectAt(state, 'terminated');
    if (waiting !== undefined && waiting !== '') reason = waiting;
    else if (terminated !== undefined)
      reason = stringAt(terminated, 'reason') ?? `ExitCode:${textOf(terminated.exitCode ?? 0)}`;
  }
  return reason;
}

function podReady(o: JsonObject): string {
  const statuses = objectsAt(status(o), 'containerStatuses');
  const total = objectsAt(spec(o), 'containers').length;
  return `${statuses.filter((s) => s.ready === true).length}/${total}`;
}

function servicePorts(o: JsonObject): string {
  const ports = objectsAt(spec(o), 'ports').map((p) => {
    const node = numberAt(p, 'nodePort');
    return `${textOf(p.port)}${node === undefined ? '' : `:${node}`}/${stringAt(p, 'protocol') ?? 'TCP'}`;
  });
  return ports.length === 0 ? '<none>' : ports.join(',');
}

function endpointsCell(o: JsonObject): string {
  const parts: string[] = [];
  for (const subset of objectsAt(o, 'subsets'))
    for (const a of objectsAt(subset, 'addresses'))
      for (const p of objectsAt(subset, 'ports')) parts.push(`${stringAt(a, 'ip') ?? ''}:${textOf(p.port)}`);
  if (parts.length === 0) return '<none>';
  return parts.length > 3 ? `${parts.slice(0, 3).join(',')} + ${parts.length - 3} more...` : parts.join(',');
}

const CREATED_AT: Column = {
  name: 'Created At',
  type: 'date',
  cell: (o) => stringAt(objectAt(o, 'metadata'), 'creationTimestamp') ?? '',
};

function podTemplateOf(o: JsonObject): JsonObject | undefined {
  const s = spec(o);
  const jobTemplate = objectAt(s, 'jobTemplate');
  return objectAt(jobTemplate === undefined ? s : objectAt(jobTemplate, 'spec'), 'template');
}

function templateColumns(selector: (o: JsonObject) => string): Column[] {
  const containers = (o: JsonObject): JsonObject[] =>
    objectsAt(objectAt(podTemplateOf(o), 'spec'), 'containers');
  return [
    {
      name: 'Containers',
      type: 'string',
      priority: 1,
      cell: (o) =>
        containers(o)
          .map((c) => stringAt(c, 'name') ?? '')
          .join(','),
    },
    {
      name: 'Images',
      type: 'string',
      priority: 1,
      cell: (o) =>
        containers(o)
          .map((c) => stringAt(c, 'image') ?? '')
          .join(','),
    },
    { name: 'Selector', type: 'string', priority: 1, cell: selector },
  ];
}

const selectorCell = (o: JsonObject): string => {
  const selector = fromLabelSelectorObject(objectAt(spec(o), 'selector')) ?? [];
  return selector.length === 0 ? '<none>' : formatLabelSelector(selector);
};

/** `1m5s`-style duration between two RFC 3339 instants (Job DURATION). */
function durationBetween(from: string | undefined, to: number): string {
  if (from === undefined) return '';
  return humanAge(from, to);
}

/** The Status column of `kubectl get jobs`, in the order the 1.32 printer checks. */
function jobStatus(o: JsonObject): string {
  const conditions = objectsAt(status(o), 'conditions').filter((c) => c.status === 'True');
  const has = (type: string): boolean => conditions.some((c) => c.type === type);
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (objectAt(o, 'metadata')?.deletionTimestamp !== undefined) return 'Terminating';
  if (has('Suspended')) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  return 'Running';
}

/** `1/1`, or `0/1 of 3` for a work queue (no completions, parallelism above 1). */
function jobCompletions(o: JsonObject): string {
  const succeeded = int(status(o), 'succeeded');
  const completions = spec(o)?.completions;
  if (typeof completions === 'number') return `${succeeded}/${completions}`;
  const parallelism = numberAt(spec(o), 'parallelism') ?? 1;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** `True`, `False`, or `<unset>`, as the real printer writes booleans. */
function printBool(value: JsonValue | undefined): string {
  return value === true ? 'True' : value === false ? 'False' : '<unset>';
}

function subjectsOf(o: JsonObject, kind: string): string {
  return objectsAt(o, 'subjects')
    .filter((s) => s.kind === kind)
    .map((s) =>
      kind === 'ServiceAccount'
        ? `${stringAt(s, 'namespace') ?? ''}/${stringAt(s, 'name') ?? ''}`
        : (stringAt(s, 'name') ?? ''),
    )
    .join(', ');
}

const BINDING: Column[] = [
  NAME,
  {
    name: 'Role',
    type: 'string',
    cell: (o) =>
      `${stringAt(objectAt(o, 'roleRef'), 'kind') ?? ''}/${stringAt(objectAt(o, 'roleRef'), 'name') ?? ''}`,
  },
  AGE,
  { name: 'Users', type: 'string', priority: 1, cell: (o) => subjectsOf(o, 'User') },
  { name: 'Groups', type: 'string', priority: 1, cell: (o) => subjectsOf(o, 'Group') },
  { name: 'ServiceAccounts', type: 'string', priority: 1, cell: (o) => subjectsOf(o, 'ServiceAccount') },
];

/** RWO, ROX, RWX, RWOP, in that order: a claim's bound modes (none until bound), a volume's own. */
function accessModes(o: JsonObject): string {
  const order: readonly [string, string][] = [
    ['ReadWriteOnce', 'RWO'],
    ['ReadOnlyMany', 'ROX'],
    ['ReadWriteMany', 'RWX'],
    ['ReadWriteOncePod', 'RWOP'],
  ];
  const modes = arrayAt(o.kind === 'PersistentVolumeClaim' ? status(o) : spec(o), 'accessModes').map(textOf);
  return order
    .filter(([mode]) => modes.includes(mode))
    .map(([, short]) => short)
    .join(',');
}

/** A claim's or volume's phase, or Terminating while it is being deleted. */
function volumePhase(o: JsonObject): string {
  if (objectAt(o, 'metadata')?.deletionTimestamp !== undefined) return 'Terminating';
  return stringAt(status(o), 'phase') ?? (o.kind === 'PersistentVolumeClaim' ? 'Pending' : '');
}

const COLUMNS: Readonly<Record<string, readonly Column[]>> = {
  Deployment: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${int(status(o), 'readyReplicas')}/${int(spec(o), 'replicas')}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (o) => int(status(o), 'updatedReplicas') },
    { name: 'Available', type: 'integer', cell: (o) => int(status(o), 'availableReplicas') },
    AGE,
    ...WORKLOAD_WIDE,
  ],
  ReplicaSet: [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => int(spec(o), 'replicas') },
    { name: 'Current', type: 'integer', cell: (o) => int(status(o), 'replicas') },
    { name: 'Ready', type: 'integer', cell: (o) => int(status(o), 'readyReplicas') },
    AGE,
    ...WORKLOAD_WIDE,
  ],
  Pod: [
    NAME,
    { name: 'Ready', type: 'string', cell: podReady },
    {
      name: 'Status',
      type: 'string',
      cell: podStatus,
    },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) =>
        String(
          objectsAt(status(o), 'containerStatuses').reduce(
            (n, s) => n + (numberAt(s, 'restartCount') ?? 0),
            0,
          ),
        ),
    },
    AGE,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => stringAt(status(o), 'podIP') ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => stringAt(spec(o), 'nodeName') ?? '<none>' },
    { name: 'Nominated Node', type: 'string', priority: 1, cell: () => '<none>' },
    { name: 'Readiness Gates', type: 'string', priority: 1, cell: () => '<none>' },
  ],
  Service: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => stringAt(spec(o), 'type') ?? 'ClusterIP' },
    { name: 'Cluster-IP', type: 'string', cell: (o) => stringAt(spec(o), 'clusterIP') ?? '<none>' },
    {
      name: 'External-IP',
      type: 'string',
      cell: (o) => {
        const ips = arrayAt(spec(o), 'externalIPs').map(String);
        return ips.length > 0 ? ips.join(',') : '<none>';
      },
    },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    AGE,
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      cell: (o) => {
        const selector = stringMapAt(spec(o), 'selector');
        return Object.keys(selector).length === 0 ? '<none>' : formatLabelSelector(fromLabelMap(selector));
      },
    },
  ],
  ConfigMap: [
    NAME,
    {
      name: 'Data',
      type: 'integer',
      cell: (o) =>
        Object.keys(objectAt(o, 'data') ?? {}).length + Object.keys(objectAt(o, 'binaryData') ?? {}).length,
    },
    AGE,
  ],
  Secret: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => stringAt(o, 'type') ?? 'Opaque' },
    { name: 'Data', type: 'integer', cell: (o) => Object.keys(objectAt(o, 'data') ?? {}).length },
    AGE,
  ],
  Namespace: [
    NAME,
    { name: 'Status', type: 'string', cell: (o) => stringAt(status(o), 'phase') ?? 'Active' },
    AGE,
  ],
  Endpoints: [NAME, { name: 'Endpoints', type: 'string', cell: endpointsCell }, AGE],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (o, now) => humanAge(stringAt(o, 'lastTimestamp') ?? stringAt(o, 'eventTime'), now),
    },
    { name: 'Type', type: 'string', cell: (o) => stringAt(o, 'type') ?? '' },
    { name: 'Reason', type: 'string', cell: (o) => stringAt(o, 'reason') ?? '' },
    {
      name: 'Object',
      type: 'string',
      cell: (o) => {
        const involved = objectAt(o, 'involvedObject');
        return `${(stringAt(involved, 'kind') ?? '').toLowerCase()}/${stringAt(involved, 'name') ?? ''}`;
      },
    },
    { name: 'Message', type: 'string', cell: (o) => stringAt(o, 'message') ?? '' },
  ],
  HorizontalPodAutoscaler: [
    NAME,
    {
      name: 'Reference',
      type: 'string',
      cell: (o) => {
        const ref = objectAt(spec(o), 'scaleTargetRef');
        return `${stringAt(ref, 'kind') ?? ''}/${stringAt(ref, 'name') ?? ''}`;
      },
    },
    {
      name: 'Targets',
      type: 'string',
      cell: (o) => (objectsAt(spec(o), 'metrics').length === 0 ? '<none>' : '<unknown>'),
    },
    { name: 'MinPods', type: 'string', cell: (o) => String(numberAt(spec(o), 'minReplicas') ?? 1) },
    { name: 'MaxPods', type: 'integer', cell: (o) => int(spec(o), 'maxReplicas') },
    { name: 'Replicas', type: 'integer', cell: (o) => int(status(o), 'currentReplicas') },
    AGE,
  ],
  PodDisruptionBudget: [
    NAME,
    { name: 'Min Available', type: 'string', cell: (o) => textOf(spec(o)?.minAvailable ?? 'N/A') },
    { name: 'Max Unavailable', type: 'string', cell: (o) => textOf(spec(o)?.maxUnavailable ?? 'N/A') },
    { name: 'Allowed Disruptions', type: 'integer', cell: (o) => int(status(o), 'disruptionsAllowed') },
    AGE,
  ],
  Ingress: [
    NAME,
    { name: 'Class', type: 'string', cell: (o) => stringAt(spec(o), 'ingressClassName') ?? '<none>' },
    {
      name: 'Hosts',
      type: 'string',
      cell: (o) => {
        const hosts = objectsAt(spec(o), 'rules').map((r) => stringAt(r, 'host') ?? '*');
        return hosts.length === 0 ? '*' : hosts.join(',');
      },
    },
    { name: 'Address', type: 'string', cell: () => '' },
    { name: 'Ports', type: 'string', cell: (o) => (objectsAt(spec(o), 'tls').length > 0 ? '80, 443' : '80') },
    AGE,
  ],
  Lease: [
    NAME,
    { name: 'Holder', type: 'string', cell: (o) => stringAt(spec(o), 'holderIdentity') ?? '' },
    AGE,
  ],
  ServiceAccount: [
    NAME,
    { name: 'Secrets', type: 'integer', cell: (o) => objectsAt(o, 'secrets').length },
    AGE,
  ],
  PersistentVolumeClaim: [
    NAME,
    { name: 'Status', type: 'string', cell: volumePhase },
    { name: 'Volume', type: 'string', cell: (o) => stringAt(spec(o), 'volumeName') ?? '' },
    {
      name: 'Capacity',
      type: 'string',
      cell: (o) => stringAt(objectAt(status(o), 'capacity'), 'storage') ?? '',
    },
    { name: 'Access Modes', type: 'string', cell: accessModes },
    { name: 'StorageClass', type: 'string', cell: (o) => stringAt(spec(o), 'storageClassName') ?? '<unset>' },
    {
      name: 'VolumeAttributesClass',
      type: 'string',
      cell: (o) => stringAt(spec(o), 'volumeAttributesClassName') ?? '<unset>',
    },
    AGE,
    { name: 'VolumeMode', type: 'string', priority: 1, cell: (o) => stringAt(spec(o), 'volumeMode') ?? '' },
  ],
  PersistentVolume: [
    NAME,
    {
      name: 'Capacity',
      type: 'string',
      cell: (o) => stringAt(objectAt(spec(o), 'capacity'), 'storage') ?? '',
    },
    { name: 'Access Modes', type: 'string', cell: accessModes },
    {
      name: 'Reclaim Policy',
      type: 'string',
      cell: (o) => stringAt(spec(o), 'persistentVolumeReclaimPolicy') ?? '',
    },
    { name: 'Status', type: 'string', cell: volumePhase },
    {
      name: 'Claim',
      type: 'string',
      cell: (o) => {
        const ref = objectAt(spec(o), 'claimRef');
        return ref === undefined ? '' : `${stringAt(ref, 'namespace') ?? ''}/${stringAt(ref, 'name') ?? ''}`;
      },
    },
    { name: 'StorageClass', type: 'string', cell: (o) => stringAt(spec(o), 'storageClassName') ?? '' },
    {
      name: 'VolumeAttributesClass',
      type: 'string',
      cell: (o) => stringAt(spec(o), 'volumeAttributesClassName') ?? '<unset>',
    },
    { name: 'Reason', type: 'string', cell: (o) => stringAt(status(o), 'reason') ?? '' },
    AGE,
    { name: 'VolumeMode', type: 'string', priority: 1, cell: (o) => stringAt(spec(o), 'volumeMode') ?? '' },
  ],
  LimitRange: [NAME, CREATED_AT],
  ResourceQuota: [
    NAME,
    AGE,
    {
      name: 'Request',
      type: 'string',
      cell: (o) => {
        const hard = objectAt(status(o), 'hard') ?? {};
        const used = objectAt(status(o), 'used') ?? {};
        return Object.keys(hard)
          .filter((k) => !k.startsWith('limits.'))
          .sort()
          .map((k) => `${k}: ${textOf(used[k] ?? '0')}/${textOf(hard[k] ?? '')}`)
          .join(', ');
      },
    },
    {
      name: 'Limit',
      type: 'string',
      cell: (o) => {
        const hard = objectAt(status(o), 'hard') ?? {};
        const used = objectAt(status(o), 'used') ?? {};
        return Object.keys(hard)
          .filter((k) => k.startsWith('limits.'))
          .sort()
          .map((k) => `${k}: ${textOf(used[k] ?? '0')}/${textOf(hard[k] ?? '')}`)
          .join(', ');
      },
    },
  ],
  Node: [
    NAME,
    {
      name: 'Status',
      type: 'string',
      cell: (o) =>
        objectsAt(status(o), 'conditions').some((c) => c.type === 'Ready' && c.status === 'True')
          ? 'Ready'
          : 'NotReady',
    },
    { name: 'Roles', type: 'string', cell: () => '<none>' },
    AGE,
    {
      name: 'Version',
      type: 'string',
      cell: (o) => stringAt(objectAt(status(o), 'nodeInfo'), 'kubeletVersion') ?? '',
    },
    {
      name: 'Internal-IP',
      type: 'string',
      priority: 1,
      cell: (o) =>
        stringAt(
          objectsAt(status(o), 'addresses').find((a) => a.type === 'InternalIP'),
          'address',
        ) ?? '<none>',
    },
  ],
  StatefulSet: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${int(status(o), 'readyReplicas')}/${int(spec(o), 'replicas')}`,
    },
    AGE,
    ...templateColumns(selectorCell).slice(0, 2),
  ],
  DaemonSet: [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => int(status(o), 'desiredNumberScheduled') },
    { name: 'Current', type: 'integer', cell: (o) => int(status(o), 'currentNumberScheduled') },
    { name: 'Ready', type: 'integer', cell: (o) => int(status(o), 'numberReady') },
    { name: 'Up-to-date', type: 'integer', cell: (o) => int(status(o), 'updatedNumberScheduled') },
    { name: 'Available', type: 'integer', cell: (o) => int(status(o), 'numberAvailable') },
    {
      name: 'Node Selector',
      type: 'string',
      cell: (o) => {
        const selector = stringMapAt(objectAt(podTemplateOf(o), 'spec'), 'nodeSelector');
        return Object.keys(selector).length === 0 ? '<none>' : formatLabelSelector(fromLabelMap(selector));
      },
    },
    AGE,
    ...templateColumns(selectorCell),
  ],
  ControllerRevision: [
    NAME,
    {
      name: 'Controller',
      type: 'string',
      cell: (o) => {
        const owner = objectsAt(objectAt(o, 'metadata'), 'ownerReferences').find(
          (r) => r.controller === true,
        );
        return owner === undefined
          ? '<none>'
          : `${(stringAt(owner, 'kind') ?? '').toLowerCase()}.${(stringAt(owner, 'apiVersion') ?? '').split('/')[0] ?? ''}/${stringAt(owner, 'name') ?? ''}`;
      },
    },
    { name: 'Revision', type: 'integer', cell: (o) => numberAt(o, 'revision') ?? 0 },
    AGE,
  ],
  Job: [
    NAME,
    { name: 'Status', type: 'string', cell: jobStatus },
    {
      name: 'Completions',
      type: 'string',
      cell: jobCompletions,
    },
    {
      name: 'Duration',
      type: 'string',
      cell: (o, now) => {
        const end = stringAt(status(o), 'completionTime');
        return durationBetween(stringAt(status(o), 'startTime'), end === undefined ? now : Date.parse(end));
      },
    },
    AGE,
    ...templateColumns(selectorCell),
  ],
  CronJob: [
    NAME,
    { name: 'Schedule', type: 'string', cell: (o) => stringAt(spec(o), 'schedule') ?? '' },
    { name: 'Timezone', type: 'string', cell: (o) => stringAt(spec(o), 'timeZone') ?? '<none>' },
    { name: 'Suspend', type: 'string', cell: (o) => printBool(spec(o)?.suspend) },
    { name: 'Active', type: 'integer', cell: (o) => objectsAt(status(o), 'active').length },
    {
      name: 'Last Schedule',
      type: 'string',
      cell: (o, now) => {
        const last = stringAt(status(o), 'lastScheduleTime');
        return last === undefined ? '<none>' : humanAge(last, now);
      },
    },
    AGE,
    ...templateColumns(() => '<none>'),
  ],
  NetworkPolicy: [
    NAME,
    {
      name: 'Pod-Selector',
      type: 'string',
      cell: (o) => {
        const selector = fromLabelSelectorObject(objectAt(spec(o), 'podSelector')) ?? [];
        return selector.length === 0 ? '<none>' : formatLabelSelector(selector);
      },
    },
    AGE,
  ],
  IngressClass: [
    NAME,
    { name: 'Controller', type: 'string', cell: (o) => stringAt(spec(o), 'controller') ?? '' },
    {
      name: 'Parameters',
      type: 'string',
      cell: (o) => {
        const p = objectAt(spec(o), 'parameters');
        if (p === undefined) return '<none>';
        const group = stringAt(p, 'apiGroup');
        return `${stringAt(p, 'kind') ?? ''}.${group ?? ''}/${stringAt(p, 'name') ?? ''}`;
      },
    },
    AGE,
  ],
  Role: [NAME, CREATED_AT],
  ClusterRole: [NAME, CREATED_AT],
  RoleBinding: BINDING,
  ClusterRoleBinding: BINDING,
  PriorityClass: [
    NAME,
    { name: 'Value', type: 'integer', cell: (o) => numberAt(o, 'value') ?? 0 },
    { name: 'Global-Default', type: 'string', cell: (o) => String(o.globalDefault === true) },
    AGE,
    { name: 'PreemptionPolicy', type: 'string', cell: (o) => stringAt(o, 'preemptionPolicy') ?? '' },
  ],
  StorageClass: [
    {
      ...NAME,
      cell: (o) => {
        const isDefault =
          stringMapAt(objectAt(o, 'metadata'), 'annotations')[
            'storageclass.kubernetes.io/is-default-class'
          ] === 'true';
        return `${stringAt(objectAt(o, 'metadata'), 'name') ?? ''}${isDefault ? ' (default)' : ''}`;
      },
    },
    { name: 'Provisioner', type: 'string', cell: (o) => stringAt(o, 'provisioner') ?? '' },
    { name: 'ReclaimPolicy', type: 'string', cell: (o) => stringAt(o, 'reclaimPolicy') ?? '' },
    { name: 'VolumeBindingMode', type: 'string', cell: (o) => stringAt(o, 'volumeBindingMode') ?? '' },
    { name: 'AllowVolumeExpansion', type: 'string', cell: (o) => String(o.allowVolumeExpansion === true) },
    AGE,
  ],
  CustomResourceDefinition: [NAME, CREATED_AT],
  EndpointSlice: [
    NAME,
    { name: 'AddressType', type: 'string', cell: (o) => stringAt(o, 'addressType') ?? '' },
    {
      name: 'Ports',
      type: 'string',
      cell: (o) => {
        const ports = objectsAt(o, 'ports').map((p) => textOf(p.port));
        return ports.length === 0 ? '<unset>' : ports.join(',');
      },
    },
    {
      name: 'Endpoints',
      type: 'string',
      cell: (o) => {
        const ips = objectsAt(o, 'endpoints').flatMap((e) => arrayAt(e, 'addresses').map(String));
        return ips.length === 0 ? '<unset>' : ips.join(',');
      },
    },
    AGE,
  ],
};

/** A custom resource's columns: Name, then its CRD's additionalPrinterColumns (Name and Age by default). */
function customColumns(printerColumns: readonly PrinterColumn[]): Column[] {
  if (printerColumns.length === 0) return [NAME, AGE];
  return [
    NAME,
    ...printerColumns.map((c): Column => ({
      name: c.name,
      type: c.type === 'integer' ? 'integer' : c.type === 'date' ? 'date' : 'string',
      priority: c.priority,
      cell: (o, now) => {
        const value = evaluateJsonPath(o, c.jsonPath);
        if (value === undefined) return null;
        if (c.type === 'date' && typeof value === 'string') return humanAge(value, now);
        return typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
      },
    })),
  ];
}

function partialMetadata(object: JsonObject): JsonObject {
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: objectAt(object, 'metadata') ?? {},
  };
}

/**
 * A `meta.k8s.io/v1 Table` of objects with the columns the real server prints for the type, so that
 * `kubectl get` shows the same columns as against a real cluster.
 */
export function toTable(
  type: ResourceType,
  objects: readonly JsonObject[],
  include: IncludeObject,
  now: number,
  resourceVersion?: string,
): JsonObject {
  const columns =
    type.custom === undefined
      ? (COLUMNS[type.kind] ?? [NAME, AGE])
      : customColumns(type.custom.printerColumns);
  const metadata: JsonObject = resourceVersion === undefined ? {} : { resourceVersion };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c === NAME ? 'name' : '',
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => {
      const row: JsonObject = { cells: columns.map((c) => c.cell(o, now)) };
      if (include === 'Object') row.object = o;
      else if (include === 'Metadata') row.object = partialMetadata(o);
      return row;
    }),
  };
}

/** Whether an Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

/** `includeObject` from a query value. */
export function includeObjectOf(value: string | null): IncludeObject {
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}
