import type { KubeObject } from '@dreamscape/kube';

/** A digest that differs per version, so each version is a different image. */
export function digestOf(name: string, version: string): string {
  const hex = Buffer.from(`${name}:${version}`).toString('hex').padEnd(64, '0').slice(0, 64);
  return `sha256:${hex}`;
}

/** Two services (web with two ports, api with an HPA and a PDB) in namespace `shop`, at a version. */
export function shopObjects(version: string, options: { webImage?: string } = {}): KubeObject[] {
  const deployment = (
    name: string,
    image: string,
    ports: { name: string; containerPort: number }[],
  ): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name,
              image,
              ports,
              readinessProbe: { httpGet: { path: '/health', port: ports[0]?.name ?? 'http' } },
            },
          ],
        },
      },
    },
  });
  const service = (
    name: string,
    ports: { name: string; port: number; targetPort: string }[],
  ): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { selector: { app: name }, ports },
  });
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `shop-config-${version}`, namespace: 'shop' },
      data: { version },
    },
    deployment('web', options.webImage ?? `registry.local/shop/web@${digestOf('web', version)}`, [
      { name: 'http', containerPort: 8080 },
      { name: 'admin', containerPort: 9090 },
    ]),
    service('web', [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'admin', port: 9090, targetPort: 'admin' },
    ]),
    deployment('api', `registry.local/shop/api@${digestOf('api', version)}`, [
      { name: 'http', containerPort: 8080 },
    ]),
    service('api', [{ name: 'http', port: 80, targetPort: 'http' }]),
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'api', namespace: 'shop' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
        minReplicas: 2,
        maxReplicas: 5,
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'api', namespace: 'shop' },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'api' } } },
    },
  ];
}
