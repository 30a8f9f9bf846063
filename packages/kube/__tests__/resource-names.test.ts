import { describe, expect, it } from '@jest/globals';
import { collectionPath, describeRef, knownResource, resourceForKind, resourceOf } from '../src/index.js';

describe('resource names', () => {
  it.each([
    ['Deployment', undefined, 'deployments.apps'],
    ['Service', undefined, 'services'],
    ['Lease', undefined, 'leases.coordination.k8s.io'],
    ['HorizontalPodAutoscaler', undefined, 'horizontalpodautoscalers.autoscaling'],
    ['PodDisruptionBudget', undefined, 'poddisruptionbudgets.policy'],
    ['Ingress', undefined, 'ingresses.networking.k8s.io'],
    ['NetworkPolicy', undefined, 'networkpolicies.networking.k8s.io'],
    ['Rollout', 'argoproj.io/v1alpha1', 'rollouts.argoproj.io'],
    ['Gateway', 'gateway.networking.k8s.io/v1', 'gateways.gateway.networking.k8s.io'],
    ['Policy', 'example.com/v1', 'policies.example.com'],
    ['Box', 'v1', 'boxes'],
  ])('%s (%s) → %s', (kind, apiVersion, expected) => {
    expect(resourceForKind(kind, apiVersion)).toBe(expected);
  });

  it('an explicit resource wins over the kind; neither is an error', () => {
    expect(resourceOf({ kind: 'Deployment', resource: 'deploy' })).toBe('deploy');
    expect(() => resourceOf({})).toThrow('An object reference needs a kind or a resource.');
  });

  it('builds collection paths for namespaced, core and cluster-scoped resources', () => {
    expect(collectionPath(knownResource('deployments.apps')!, 'prod')).toBe(
      '/apis/apps/v1/namespaces/prod/deployments',
    );
    expect(collectionPath(knownResource('Service')!, 'prod')).toBe('/api/v1/namespaces/prod/services');
    expect(collectionPath(knownResource('services')!)).toBe('/api/v1/services');
    expect(collectionPath(knownResource('Namespace')!, 'prod')).toBe('/api/v1/namespaces');
    expect(knownResource('deploy')).toBeUndefined();
  });

  it('describes a reference for messages', () => {
    expect(describeRef({ kind: 'Service', name: 'web', namespace: 'prod' })).toBe(
      'services/web in namespace prod',
    );
  });
});
