import { describe, expect, it } from '@jest/globals';
import { evaluateRollout, type Deployment } from '../src/index.js';

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
      name: 'web',
      namespace: 'prod',
      replicas: 4,
      ready: 3,
      available: 2,
      updated: 4,
    });
  });
});
