import { describe, expect, it } from '@jest/globals';
import { evaluateRollout, type DaemonSet, type Deployment, type StatefulSet } from '../src/index.js';

function deployment(
  spec: { replicas?: number; generation?: number },
  status: NonNullable<Deployment['status']>,
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'prod', generation: spec.generation ?? 2 },
    spec: spec.replicas === undefined ? {} : { replicas: spec.replicas },
    status,
  };
}

function statefulSet(
  spec: NonNullable<StatefulSet['spec']>,
  status: NonNullable<StatefulSet['status']>,
  generation = 2,
): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'prod', generation },
    spec,
    status,
  };
}

function daemonSet(
  strategy: 'RollingUpdate' | 'OnDelete' | undefined,
  status: NonNullable<DaemonSet['status']>,
): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'prod', generation: 2 },
    spec: strategy === undefined ? {} : { updateStrategy: { type: strategy } },
    status,
  };
}

/** What the API server writes for an empty `updateStrategy`. */
const PARTITION_0 = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } as const;

describe('evaluateRollout (kubectl rollout status rules)', () => {
  it.each([
    [
      'spec change not observed yet',
      { replicas: 3 },
      { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
      'progressing',
      'ObservedGenerationBehind',
      'Waiting for deployment "web" spec update to be observed...',
    ],
    [
      'not all replicas updated',
      { replicas: 3 },
      { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 3 },
      'progressing',
      'UpdatedReplicas',
      'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
    ],
    [
      'old replicas still running',
      { replicas: 3 },
      { observedGeneration: 2, replicas: 4, updatedReplicas: 3, availableReplicas: 3 },
      'progressing',
      'OldReplicas',
      'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
    ],
    [
      'updated replicas not available',
      { replicas: 3 },
      { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 1 },
      'progressing',
      'AvailableReplicas',
      'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...',
    ],
    [
      'complete',
      { replicas: 3 },
      { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
      'complete',
      'Complete',
      'deployment "web" successfully rolled out',
    ],
    [
      'scaled to zero is complete',
      { replicas: 0 },
      { observedGeneration: 2 },
      'complete',
      'Complete',
      'deployment "web" successfully rolled out',
    ],
    [
      'observed ahead of generation counts as caught up',
      { replicas: 1 },
      { observedGeneration: 5, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
      'complete',
      'Complete',
      'deployment "web" successfully rolled out',
    ],
  ] as const)('%s', (_name, spec, status, state, reason, message) => {
    const s = evaluateRollout(deployment(spec, status));
    expect([s.state, s.reason, s.message]).toEqual([state, reason, message]);
  });

  it('fails at once on ProgressDeadlineExceeded, with the condition message', () => {
    const s = evaluateRollout(
      deployment(
        { replicas: 2 },
        {
          observedGeneration: 2,
          replicas: 2,
          updatedReplicas: 2,
          availableReplicas: 0,
          conditions: [
            { type: 'Available', status: 'False' },
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "web-5d9" has timed out progressing.',
            },
          ],
        },
      ),
    );
    expect(s).toMatchObject({
      state: 'failed',
      reason: 'ProgressDeadlineExceeded',
      replicas: 2,
      updated: 2,
      available: 0,
    });
    expect(s.message).toBe(
      'deployment "web" exceeded its progress deadline: ReplicaSet "web-5d9" has timed out progressing.',
    );
  });

  it('ignores a deadline condition left from an older generation', () => {
    const s = evaluateRollout(
      deployment(
        { replicas: 2, generation: 3 },
        {
          observedGeneration: 2,
          conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
        },
      ),
    );
    expect(s.state).toBe('progressing');
  });

  it('reports the counts', () => {
    const s = evaluateRollout(
      deployment(
        { replicas: 4 },
        { observedGeneration: 2, replicas: 4, updatedReplicas: 4, readyReplicas: 3, availableReplicas: 2 },
      ),
    );
    expect(s).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      namespace: 'prod',
      replicas: 4,
      ready: 3,
      available: 2,
      updated: 4,
    });
  });
});

describe('evaluateRollout for a StatefulSet (kubectl StatefulSetStatusViewer)', () => {
  it.each([
    [
      'status never written (observedGeneration 0)',
      statefulSet({ replicas: 2, updateStrategy: PARTITION_0 }, {}, 0),
      'progressing',
      'ObservedGenerationBehind',
      'Waiting for statefulset spec update to be observed...',
    ],
    [
      'spec change not observed yet',
      statefulSet({ replicas: 2, updateStrategy: PARTITION_0 }, { observedGeneration: 1, readyReplicas: 2 }),
      'progressing',
      'ObservedGenerationBehind',
      'Waiting for statefulset spec update to be observed...',
    ],
    [
      'ordered pods still starting',
      statefulSet(
        { replicas: 3, updateStrategy: PARTITION_0 },
        { observedGeneration: 2, readyReplicas: 1, updatedReplicas: 2 },
      ),
      'progressing',
      'ReadyReplicas',
      'Waiting for 2 pods to be ready...',
    ],
    [
      'partition 0, all updated',
      statefulSet(
        { replicas: 2, updateStrategy: PARTITION_0 },
        { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 2 },
      ),
      'complete',
      'Complete',
      'partitioned roll out complete: 2 new pods have been updated...',
    ],
    [
      'partitioned, pods above the partition not all updated',
      statefulSet(
        { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } },
        { observedGeneration: 2, readyReplicas: 3, updatedReplicas: 1 },
      ),
      'progressing',
      'UpdatedReplicas',
      'Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...',
    ],
    [
      'partitioned, pods above the partition updated',
      statefulSet(
        { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } },
        { observedGeneration: 2, readyReplicas: 3, updatedReplicas: 2 },
      ),
      'complete',
      'Complete',
      'partitioned roll out complete: 2 new pods have been updated...',
    ],
    [
      'a rollingUpdate block without a partition: all Ready is enough, as for kubectl',
      statefulSet(
        { replicas: 2, updateStrategy: { type: 'RollingUpdate', rollingUpdate: {} } },
        { observedGeneration: 2, readyReplicas: 2, updatedReplicas: 1 },
      ),
      'complete',
      'Complete',
      'partitioned roll out complete: 1 new pods have been updated...',
    ],
    [
      'no rollingUpdate block, update revision not current yet',
      statefulSet(
        { replicas: 3, updateStrategy: { type: 'RollingUpdate' } },
        {
          observedGeneration: 2,
          readyReplicas: 3,
          updatedReplicas: 1,
          currentReplicas: 2,
          currentRevision: 'db-5f6c',
          updateRevision: 'db-7b9d',
        },
      ),
      'progressing',
      'UpdateRevision',
      'waiting for statefulset rolling update to complete 1 pods at revision db-7b9d...',
    ],
    [
      'no strategy at all is judged as RollingUpdate without a block',
      statefulSet(
        { replicas: 3 },
        {
          observedGeneration: 2,
          readyReplicas: 3,
          updatedReplicas: 3,
          currentReplicas: 3,
          currentRevision: 'db-7b9d',
          updateRevision: 'db-7b9d',
        },
      ),
      'complete',
      'Complete',
      'statefulset rolling update complete 3 pods at revision db-7b9d...',
    ],
    [
      'scaled to zero',
      statefulSet({ replicas: 0, updateStrategy: PARTITION_0 }, { observedGeneration: 2 }),
      'complete',
      'Complete',
      'partitioned roll out complete: 0 new pods have been updated...',
    ],
    [
      'OnDelete, not all Ready',
      statefulSet(
        { replicas: 2, updateStrategy: { type: 'OnDelete' } },
        { observedGeneration: 2, readyReplicas: 1 },
      ),
      'progressing',
      'ReadyReplicas',
      'Waiting for 1 pods to be ready...',
    ],
    [
      'OnDelete, all Ready with old pods (kubectl refuses; nothing more will happen by itself)',
      statefulSet(
        { replicas: 2, updateStrategy: { type: 'OnDelete' } },
        {
          observedGeneration: 2,
          readyReplicas: 2,
          currentRevision: 'db-5f6c',
          updateRevision: 'db-7b9d',
        },
      ),
      'complete',
      'Complete',
      'statefulset "db" has 2 ready pods; it updates OnDelete, so its pods change only when they are deleted',
    ],
    [
      'OnDelete, spec change not observed yet',
      statefulSet(
        { replicas: 2, updateStrategy: { type: 'OnDelete' } },
        { observedGeneration: 1, readyReplicas: 2 },
      ),
      'progressing',
      'ObservedGenerationBehind',
      'Waiting for statefulset spec update to be observed...',
    ],
  ] as const)('%s', (_name, sts, state, reason, message) => {
    const s = evaluateRollout(sts);
    expect([s.state, s.reason, s.message]).toEqual([state, reason, message]);
  });

  it('reports the kind and the counts', () => {
    const s = evaluateRollout(
      statefulSet(
        { replicas: 3, updateStrategy: PARTITION_0 },
        { observedGeneration: 2, readyReplicas: 2, availableReplicas: 1, updatedReplicas: 3 },
      ),
    );
    expect(s).toEqual({
      kind: 'StatefulSet',
      name: 'db',
      namespace: 'prod',
      state: 'progressing',
      reason: 'ReadyReplicas',
      message: 'Waiting for 1 pods to be ready...',
      replicas: 3,
      ready: 2,
      available: 1,
      updated: 3,
    });
  });
});

describe('evaluateRollout for a DaemonSet (kubectl DaemonSetStatusViewer)', () => {
  it.each([
    [
      'spec change not observed yet',
      daemonSet('RollingUpdate', {
        observedGeneration: 1,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberAvailable: 3,
      }),
      'progressing',
      'ObservedGenerationBehind',
      'Waiting for daemon set spec update to be observed...',
    ],
    [
      'not every node runs the new template',
      daemonSet('RollingUpdate', {
        observedGeneration: 2,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 1,
        numberAvailable: 3,
      }),
      'progressing',
      'UpdatedReplicas',
      'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...',
    ],
    [
      'updated pods not all available',
      daemonSet('RollingUpdate', {
        observedGeneration: 2,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberAvailable: 2,
      }),
      'progressing',
      'AvailableReplicas',
      'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...',
    ],
    [
      'complete',
      daemonSet('RollingUpdate', {
        observedGeneration: 2,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 3,
        numberReady: 3,
        numberAvailable: 3,
      }),
      'complete',
      'Complete',
      'daemon set "agent" successfully rolled out',
    ],
    [
      'no node to run on',
      daemonSet(undefined, { observedGeneration: 2, desiredNumberScheduled: 0 }),
      'complete',
      'Complete',
      'daemon set "agent" successfully rolled out',
    ],
    [
      'no strategy is judged as RollingUpdate',
      daemonSet(undefined, { observedGeneration: 2, desiredNumberScheduled: 2, numberAvailable: 2 }),
      'progressing',
      'UpdatedReplicas',
      'Waiting for daemon set "agent" rollout to finish: 0 out of 2 new pods have been updated...',
    ],
    [
      'OnDelete, old pods all available (kubectl refuses; nothing more will happen by itself)',
      daemonSet('OnDelete', {
        observedGeneration: 2,
        desiredNumberScheduled: 3,
        updatedNumberScheduled: 0,
        numberAvailable: 3,
      }),
      'complete',
      'Complete',
      'daemon set "agent" has 3 available pods; it updates OnDelete, so its pods change only when they are deleted',
    ],
    [
      'OnDelete, not every node has an available pod',
      daemonSet('OnDelete', { observedGeneration: 2, desiredNumberScheduled: 3, numberAvailable: 2 }),
      'progressing',
      'AvailableReplicas',
      'Waiting for daemon set "agent": 2 of 3 pods are available...',
    ],
  ] as const)('%s', (_name, ds, state, reason, message) => {
    const s = evaluateRollout(ds);
    expect([s.state, s.reason, s.message]).toEqual([state, reason, message]);
  });

  it('reports the kind and the counts of the nodes that should run a pod', () => {
    const s = evaluateRollout(
      daemonSet('RollingUpdate', {
        observedGeneration: 2,
        desiredNumberScheduled: 4,
        updatedNumberScheduled: 4,
        numberReady: 3,
        numberAvailable: 2,
      }),
    );
    expect(s).toMatchObject({
      kind: 'DaemonSet',
      name: 'agent',
      namespace: 'prod',
      replicas: 4,
      ready: 3,
      available: 2,
      updated: 4,
    });
  });
});
