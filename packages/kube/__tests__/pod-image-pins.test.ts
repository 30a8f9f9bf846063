import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../src/index.js';
import { imageName, pinPodImages } from '../src/pod-image-pins.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function workload(kind: string, podSpec: Record<string, unknown>): KubeObject {
  const template = { spec: podSpec };
  const spec =
    kind === 'Pod' ? podSpec : kind === 'CronJob' ? { jobTemplate: { spec: { template } } } : { template };
  return { apiVersion: 'v1', kind, metadata: { name: kind.toLowerCase() }, spec };
}

describe('imageName', () => {
  it.each([
    ['nginx', 'nginx'],
    ['nginx:1.27', 'nginx'],
    ['ghcr.io/acme/web:1.2@sha256:abc', 'ghcr.io/acme/web'],
    ['ghcr.io/acme/web@sha256:abc', 'ghcr.io/acme/web'],
    ['127.0.0.1:5000/web', '127.0.0.1:5000/web'],
    ['127.0.0.1:5000/web:2', '127.0.0.1:5000/web'],
  ])('%s is %s', (image, name) => {
    expect(imageName(image)).toBe(name);
  });
});

describe('pinPodImages', () => {
  it.each(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'])(
    'pins the containers and init containers of a %s',
    (kind) => {
      const object = workload(kind, {
        initContainers: [{ name: 'migrate', image: 'ghcr.io/acme/web:1.0' }],
        containers: [
          { name: 'web', image: 'ghcr.io/acme/web:1.0' },
          { name: 'sidecar', image: 'envoyproxy/envoy:v1.30' },
        ],
      });
      pinPodImages(
        [object],
        [{ name: 'ghcr.io/acme/web', newName: 'ghcr.io/acme/web-built', digest: DIGEST }],
      );
      expect(JSON.stringify(object)).toContain(`"image":"ghcr.io/acme/web-built@${DIGEST}"`);
      expect(JSON.stringify(object)).not.toContain('ghcr.io/acme/web:1.0');
      expect(JSON.stringify(object)).toContain('envoyproxy/envoy:v1.30');
    },
  );

  it('leaves images outside pod specs, and names that only share a prefix, as they are', () => {
    const custom = workload('Rollout', { containers: [{ name: 'web', image: 'ghcr.io/acme/web:1.0' }] });
    const deployment = workload('Deployment', {
      containers: [{ name: 'web', image: 'ghcr.io/acme/web-admin:1.0' }],
    });
    pinPodImages([custom, deployment], [{ name: 'ghcr.io/acme/web', digest: DIGEST }]);
    expect(JSON.stringify(custom)).toContain('ghcr.io/acme/web:1.0');
    expect(JSON.stringify(deployment)).toContain('ghcr.io/acme/web-admin:1.0');
  });

  it('replaces a tag and a digest already there', () => {
    const pod = workload('Pod', {
      containers: [{ name: 'web', image: `ghcr.io/acme/web:1.0@sha256:${'d'.repeat(64)}` }],
    });
    pinPodImages([pod], [{ name: 'ghcr.io/acme/web', digest: DIGEST }]);
    expect(JSON.stringify(pod)).toContain(`"image":"ghcr.io/acme/web@${DIGEST}"`);
  });
});
