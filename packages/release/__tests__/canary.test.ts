import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '@dreamscape/kube';
import { load } from 'js-yaml';
import { canaryRelease } from '../src/canary.js';

const hpa = (name: string): KubeObject => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, maxReplicas: 4 },
});

describe('canaryRelease', () => {
  it('takes the service router, which needs no object of the overlay', () => {
    const canary = canaryRelease(load('router: service\nsteps: [25, 100]'), ['web'], []);
    expect(canary.settings.router).toBe('service');
    expect(canary.routing).toBeUndefined();
  });

  it('refuses the service router over Deployments an HPA sizes, naming them', () => {
    expect(() =>
      canaryRelease(load('router: service\nsteps: [25, 100]'), ['web', 'api'], [hpa('web'), hpa('api')]),
    ).toThrow(
      /Input 'canary'.*the service router sets the weight by replica counts, and the overlay's HorizontalPodAutoscalers web, api would resize the colors under it; use the nginx or gateway-api router/s,
    );
  });

  it('accepts a pause for approval with the service router', () => {
    const release = canaryRelease(
      load('router: service\nsteps: [{weight: 10, pause: approval}, 100]'),
      ['web'],
      [],
    );
    expect(release.settings.steps[0]?.pause).toEqual({ kind: 'approval' });
  });
});
