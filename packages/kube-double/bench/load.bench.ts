/**
 * The double under the load a release puts on it: the seven-service example deployed in two colors
 * (14 Deployments, ReplicaSets, pods and HorizontalPodAutoscalers, 7 live and 7 preview Services with
 * their Endpoints and EndpointSlices, two PodDisruptionBudgets, two release Secrets), then the
 * switch a rollback makes: the seven live Services' selectors patched at once.
 *
 * Prints the time of the server-side apply of the whole example (one request per object, as
 * `kubectl apply --server-side` sends them), of each round of seven parallel merge patches, of a
 * plain GET, and, on the same store, what the controllers' reads after one Service change cost
 * when every object is copied (`list`) and when the stored objects are read in place (`view`).
 *
 * Run: `npm run bench -w @dreamscape/kube-double`. Numbers only; nothing here asserts a time.
 */
import { Agent, request } from 'node:http';
import { startKubeDouble, type KubeDouble } from '../src/index.js';
import type { JsonObject } from '../src/json-value.js';
import { resourceTypeOfKind, type ResourceType } from '../src/resource-table.js';

const NAMESPACE = 'dreamscape-dev';
const SERVICES = ['gateway', 'auth', 'user', 'voyage', 'payment', 'ai', 'panorama'] as const;
const COLORS = ['blue', 'green'] as const;
const COLOR = 'dreamscape.io/color';
const ROUNDS = 10;
const WARM_UP_ROUNDS = 2;

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** One HTTP request to the double; resolves with the status and body. */
function call(
  double: KubeDouble,
  method: string,
  path: string,
  body?: { contentType: string; text: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${double.url}${path}`,
      {
        method,
        agent,
        headers: body === undefined ? {} : { 'Content-Type': body.contentType },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(body?.text);
  });
}

function labels(service: string, color?: string): JsonObject {
  return {
    'app.kubernetes.io/name': service,
    'app.kubernetes.io/part-of': 'dreamscape',
    'dreamscape.io/environment': 'dev',
    'dreamscape.io/app': 'dreamscape',
    'app.kubernetes.io/managed-by': 'dreamscape',
    ...(color === undefined ? {} : { [COLOR]: color }),
  };
}

/** The objects the example holds once both colors are deployed, as the release engine applies them. */
function exampleObjects(): { path: string; object: JsonObject }[] {
  const ns = `/api/v1/namespaces/${NAMESPACE}`;
  const apps = `/apis/apps/v1/namespaces/${NAMESPACE}`;
  const objects: { path: string; object: JsonObject }[] = [
    {
      path: `/api/v1/namespaces/${NAMESPACE}`,
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    },
    {
      path: `${ns}/configmaps/dreamscape-config`,
      object: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'dreamscape-config', namespace: NAMESPACE },
        data: { LOG_LEVEL: 'info', REGION: 'eu-west-1' },
      },
    },
  ];
  const probe = (periodSeconds: number, failureThreshold: number): JsonObject => ({
    httpGet: { path: '/health', port: 'http' },
    periodSeconds,
    failureThreshold,
  });
  for (const service of SERVICES)
    for (const color of COLORS) {
      const name = `${service}-${color}`;
      const podLabels = { ...labels(service, color), 'app.kubernetes.io/component': service };
      objects.push({
        path: `${apps}/deployments/${name}`,
        object: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name, namespace: NAMESPACE, labels: podLabels },
          spec: {
            replicas: 1,
            revisionHistoryLimit: 5,
            selector: { matchLabels: { 'app.kubernetes.io/name': service, [COLOR]: color } },
            template: {
              metadata: { labels: podLabels },
              spec: {
                automountServiceAccountToken: false,
                terminationGracePeriodSeconds: 30,
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65534,
                  runAsGroup: 65534,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                containers: [
                  {
                    name: service,
                    image: `ghcr.io/dreamscape/${service}@sha256:${color.padEnd(64, 'a')}`,
                    ports: [{ name: 'http', containerPort: 8080 }],
                    envFrom: [{ configMapRef: { name: 'dreamscape-config' } }],
                    env: [
                      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                      {
                        name: 'DREAMSCAPE_COLOR',
                        valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COLOR}']` } },
                      },
                    ],
                    startupProbe: probe(2, 30),
                    readinessProbe: probe(5, 3),
                    livenessProbe: probe(10, 3),
                    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
                    securityContext: {
                      allowPrivilegeEscalation: false,
                      readOnlyRootFilesystem: true,
                      capabilities: { drop: ['ALL'] },
                    },
                  },
                ],
              },
            },
          },
        },
      });
      objects.push({
        path: `/apis/autoscaling/v2/namespaces/${NAMESPACE}/horizontalpodautoscalers/${name}`,
        object: {
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name, namespace: NAMESPACE, labels: labels(service, color) },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
            minReplicas: 1,
            maxReplicas: 6,
            metrics: [
              {
                type: 'Resource',
                resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
              },
            ],
          },
        },
      });
      if (service === 'payment')
        objects.push({
          path: `/apis/policy/v1/namespaces/${NAMESPACE}/poddisruptionbudgets/${name}`,
          object: {
            apiVersion: 'policy/v1',
            kind: 'PodDisruptionBudget',
            metadata: { name, namespace: NAMESPACE, labels: labels(service, color) },
            spec: {
              maxUnavailable: 1,
              selector: { matchLabels: { 'app.kubernetes.io/name': service, [COLOR]: color } },
            },
          },
        });
    }
  for (const service of SERVICES)
    for (const [name, color] of [
      [service, 'blue'],
      [`${service}-preview`, 'green'],
    ] as const)
      objects.push({
        path: `${ns}/services/${name}`,
        object: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: NAMESPACE, labels: labels(service) },
          spec: {
            type: 'ClusterIP',
            selector: { 'app.kubernetes.io/name': service, [COLOR]: color },
            ports: [{ name: 'http', port: 80, targetPort: 'http' }],
          },
        },
      });
  for (const revision of [1, 2])
    objects.push({
      path: `${ns}/secrets/dreamscape-release-${NAMESPACE}-v${revision}`,
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'dreamscape.io/release.v1',
        metadata: {
          name: `dreamscape-release-${NAMESPACE}-v${revision}`,
          namespace: NAMESPACE,
          labels: { 'dreamscape.io/revision': String(revision), 'dreamscape.io/result': 'promoted' },
        },
        data: { 'release.json.gz': Buffer.alloc(3200, revision).toString('base64') },
      },
    });
  return objects;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function ms(value: number): string {
  return value.toFixed(1);
}

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const double = await startKubeDouble({ behaviours: [{ image: '*', ready: '100ms' }] });
  try {
    const objects = exampleObjects();
    const applyStart = performance.now();
    for (const { path, object } of objects) {
      const res = await call(double, 'PATCH', `${path}?fieldManager=bench&force=true`, {
        contentType: 'application/apply-patch+yaml',
        text: JSON.stringify(object),
      });
      if (res.status >= 300) throw new Error(`apply ${path}: ${res.status} ${res.text}`);
    }
    const applyMs = performance.now() - applyStart;
    const podReady = (p: JsonObject): boolean =>
      JSON.stringify((p.status as JsonObject | undefined)?.conditions ?? []).includes(
        '"type":"Ready","status":"True"',
      );
    await until('14 Ready pods', () => double.objects('pods', NAMESPACE).filter(podReady).length === 14);
    await double.settle();

    let live: string = COLORS[0];
    const switchAll = async (): Promise<number> => {
      live = live === 'blue' ? 'green' : 'blue';
      const text = JSON.stringify({ spec: { selector: { [COLOR]: live } } });
      const start = performance.now();
      const results = await Promise.all(
        SERVICES.map((s) =>
          call(double, 'PATCH', `/api/v1/namespaces/${NAMESPACE}/services/${s}?fieldManager=bench`, {
            contentType: 'application/merge-patch+json',
            text,
          }),
        ),
      );
      const elapsed = performance.now() - start;
      for (const r of results) if (r.status !== 200) throw new Error(`patch: ${r.status} ${r.text}`);
      await double.settle();
      return elapsed;
    };
    for (let i = 0; i < WARM_UP_ROUNDS; i++) await switchAll();
    const rounds: number[] = [];
    for (let i = 0; i < ROUNDS; i++) rounds.push(await switchAll());

    const gets: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      const res = await call(double, 'GET', `/api/v1/namespaces/${NAMESPACE}/services/gateway`);
      gets.push(performance.now() - start);
      if (res.status !== 200) throw new Error(`get: ${res.status}`);
    }

    // What the controllers read after one Service change: every Service of the namespace and, for
    // each, the pods of the namespace (the invariant monitor's check, before it was targeted).
    const store = double.api.store;
    const serviceType = resourceTypeOfKind('Service');
    const podType = resourceTypeOfKind('Pod');
    if (serviceType === undefined || podType === undefined) throw new Error('no Service or Pod type');
    type Read = (type: ResourceType, namespace: string) => readonly JsonObject[];
    const reads = (read: Read): number => {
      const start = performance.now();
      let seen = 0;
      for (let i = 0; i < 20; i++)
        for (const _service of read(serviceType, NAMESPACE)) seen += read(podType, NAMESPACE).length;
      if (seen === 0) throw new Error('nothing read');
      return (performance.now() - start) / 20;
    };
    const copies: Read = (type, namespace) => store.list(type, namespace);
    const inPlace: Read = (type, namespace) => store.view(type, namespace);
    reads(copies);
    reads(inPlace);
    const copyingMs = median([1, 2, 3, 4, 5].map(() => reads(copies)));
    const viewMs = median([1, 2, 3, 4, 5].map(() => reads(inPlace)));

    const errors = double.errors();
    if (errors.length > 0) throw new Error(`controller errors:\n${errors.join('\n')}`);
    console.log(`objects applied: ${objects.length} in ${ms(applyMs)} ms (server-side apply, one at a time)`);
    console.log(`7 parallel Service patches, ${ROUNDS} rounds (ms): ${rounds.map(ms).join(' ')}`);
    console.log(`GET one Service (ms): median ${ms(median(gets))}, max ${ms(Math.max(...gets))}`);
    console.log(
      `reads after one Service change: list (copies) ${ms(copyingMs)} ms, view (in place) ${(viewMs * 1000).toFixed(1)} µs`,
    );
    console.log(
      `kube-double load: switch_ms=${ms(median(rounds))} get_ms=${ms(median(gets))} apply_ms=${ms(applyMs)} list_over_view=${Math.round(copyingMs / viewMs)}`,
    );
  } finally {
    agent.destroy();
    await double.close();
  }
}

await main();
