import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { builtInType } from '../src/resource-table.js';
import { kubectlFor, ok, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20, nodes: 4, namespaces: ['agents'] });
  k = kubectlFor(double);
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

const meta = (o: JsonObject): JsonObject => o.metadata as JsonObject;
const isReady = (pod: JsonObject): boolean =>
  (((pod.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined) ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

function agent(image: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'agents' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: { containers: [{ name: 'agent', image }], ...spec },
      },
    },
  };
}

function agentPods(): JsonObject[] {
  return double.objects('pods', 'agents').filter((p) => (meta(p).labels as JsonObject).app === 'agent');
}

describe('DaemonSet', () => {
  it('runs one pod on each of the fixed nodes; kubectl rollout status waits for them', async () => {
    expect(
      ok(await k(['get', 'nodes', '--no-headers']))
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).slice(0, 2)),
    ).toEqual([
      ['kube-double-node-1', 'Ready'],
      ['kube-double-node-2', 'Ready'],
      ['kube-double-node-3', 'Ready'],
      ['kube-double-node-4', 'Ready'],
    ]);
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(agent('agent:1')) }));
    expect(ok(await k(['rollout', 'status', 'ds/agent', '-n', 'agents', '--timeout=60s']))).toContain(
      'daemon set "agent" successfully rolled out',
    );
    const nodes = agentPods().map((p) => (p.spec as JsonObject).nodeName);
    expect(nodes.sort()).toEqual([
      'kube-double-node-1',
      'kube-double-node-2',
      'kube-double-node-3',
      'kube-double-node-4',
    ]);
    const live = JSON.parse(ok(await k(['get', 'ds', 'agent', '-n', 'agents', '-o', 'json']))) as JsonObject;
    const status = live.status as JsonObject;
    expect(status).toMatchObject({
      desiredNumberScheduled: 4,
      currentNumberScheduled: 4,
      numberReady: 4,
      numberAvailable: 4,
      updatedNumberScheduled: 4,
    });
  });

  it('rolls an update one node at a time (maxUnavailable 1)', async () => {
    const podType = builtInType('Pod');
    let worst = 0;
    const stop = double.api.store.subscribe((change) => {
      if (change.resourceType !== podType) return;
      const ready = agentPods().filter((p) => isReady(p)).length;
      worst = Math.max(worst, 4 - ready);
    });
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(agent('agent:2')) }));
    ok(await k(['rollout', 'status', 'ds/agent', '-n', 'agents', '--timeout=60s']));
    stop();
    expect(agentPods().map((p) => ((p.spec as JsonObject).containers as JsonObject[])[0]?.image)).toEqual(
      Array(4).fill('agent:2'),
    );
    expect(worst).toBe(1);
  });

  it('keeps to the nodes its nodeSelector admits', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(agent('agent:3', { nodeSelector: { 'kubernetes.io/hostname': 'kube-double-node-2' } })),
      }),
    );
    ok(await k(['rollout', 'status', 'ds/agent', '-n', 'agents', '--timeout=60s']));
    await double.settle();
    expect(agentPods().map((p) => (p.spec as JsonObject).nodeName)).toEqual(['kube-double-node-2']);
  });
});
