import { DEFAULT_CLASS_ANNOTATION } from './admission.js';
import type { ApiServer } from './api-server.js';
import { objectAt, objectsAt, stringAt } from './json-value.js';
import { builtInType } from './resource-table.js';

/** The name of node `n` (1-based). Pods of Deployments, StatefulSets and Jobs run on the first. */
export function nodeName(n: number): string {
  return `kube-double-node-${n}`;
}

/** The provisioner of the double's simulated volumes (and of its default StorageClass). */
export const SIMULATED_PROVISIONER = 'kube-double.io/simulated';

/** The default StorageClass every claim without a class gets. */
export const DEFAULT_STORAGE_CLASS = 'standard';

/**
 * What a freshly made cluster has besides namespaces: `count` Ready nodes of `kubeletVersion`
 * (DaemonSets put a pod on each), the two system PriorityClasses, and a default StorageClass whose simulated volumes bind
 * at once.
 */
export function createClusterObjects(api: ApiServer, count: number, kubeletVersion: string): void {
  const nodeType = builtInType('Node');
  const now = api.timestamp();
  for (let n = 1; n <= count; n++) {
    const name = nodeName(n);
    if (api.store.peek(nodeType, '', name) !== undefined) continue;
    const resources = { cpu: '4', 'ephemeral-storage': '100Gi', memory: '16Gi', pods: '110' };
    // Status is a subresource of nodes: the kubelet writes it after the node registers.
    const registered = api.createInternal(nodeType, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'beta.kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
        },
      },
      spec: { podCIDR: `10.244.${n - 1}.0/24`, podCIDRs: [`10.244.${n - 1}.0/24`] },
    });
    api.writeInternal(
      nodeType,
      registered,
      {
        ...registered,
        status: {
          addresses: [
            { type: 'InternalIP', address: `192.168.0.${n + 1}` },
            { type: 'Hostname', address: name },
          ],
          allocatable: resources,
          capacity: resources,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
            },
          ],
          nodeInfo: {
            architecture: 'amd64',
            bootID: '',
            containerRuntimeVersion: 'containerd://1.7.24',
            kernelVersion: '6.1.0',
            kubeProxyVersion: kubeletVersion,
            kubeletVersion,
            machineID: '',
            operatingSystem: 'linux',
            osImage: 'kube-double',
            systemUUID: '',
          },
        },
      },
      'status',
    );
  }
  const priorityType = builtInType('PriorityClass');
  for (const [name, value, description] of [
    [
      'system-cluster-critical',
      2000000000,
      'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
    ],
    [
      'system-node-critical',
      2000001000,
      'Used for system critical pods that must not be moved from their current node.',
    ],
  ] as const)
    if (api.store.peek(priorityType, '', name) === undefined)
      api.createInternal(priorityType, {
        apiVersion: 'scheduling.k8s.io/v1',
        kind: 'PriorityClass',
        metadata: { name },
        value,
        description,
      });
  const classType = builtInType('StorageClass');
  if (api.store.peek(classType, '', DEFAULT_STORAGE_CLASS) === undefined)
    api.createInternal(classType, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: DEFAULT_STORAGE_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
      provisioner: SIMULATED_PROVISIONER,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    });
}

/** The index of a node from its name (1 for the first, and for any name that is not a node's). */
export function nodeIndex(name: string): number {
  const match = /^kube-double-node-(\d+)$/.exec(name);
  return match === null ? 1 : Number(match[1]);
}

/** The InternalIP of a node, for the hostIP of its pods. */
export function nodeAddress(api: ApiServer, name: string): string {
  const node = api.store.peek(builtInType('Node'), '', name);
  const address = objectsAt(objectAt(node, 'status'), 'addresses').find((a) => a.type === 'InternalIP');
  return stringAt(address, 'address') ?? '192.168.0.2';
}
