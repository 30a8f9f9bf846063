import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ActionError } from '@dreamscape/core';
import type { Deployment, KubeObject, PodDisruptionBudget, Service, ServicePort } from '@dreamscape/kube';
import {
  assertNoLintErrors,
  coloredDeployment,
  coloredHpa,
  coloredPdbs,
  coloredService,
  planBlueGreen,
  previewService,
  TEMPLATE_HASH_ANNOTATION,
  templateHash,
  type BlueGreenPlan,
  type LintFinding,
} from '../src/index.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

interface DeploymentSpec {
  labels?: Record<string, string>;
  selector?: Record<string, string>;
  image?: string;
  probe?: boolean;
  ports?: { name: string; containerPort: number }[];
  replicas?: number;
  namespace?: string;
  initImage?: string;
}

function deployment(name: string, spec: DeploymentSpec = {}): Deployment {
  const labels = spec.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }) },
    spec: {
      ...(spec.replicas === undefined ? {} : { replicas: spec.replicas }),
      selector: { matchLabels: spec.selector ?? labels },
      template: {
        metadata: { labels },
        spec: {
          ...(spec.initImage === undefined
            ? {}
            : { initContainers: [{ name: 'init', image: spec.initImage }] }),
          containers: [
            {
              name,
              image: spec.image ?? `registry.local/${name}@${DIGEST}`,
              ports: spec.ports ?? [{ name: 'http', containerPort: 8080 }],
              ...(spec.probe === false
                ? {}
                : { readinessProbe: { httpGet: { path: '/health', port: 'http' } } }),
            },
          ],
        },
      },
    },
  };
}

function service(
  name: string,
  selector: Record<string, string> | undefined,
  ports: ServicePort[] = [{ name: 'http', port: 80, targetPort: 'http' }],
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { ...(selector === undefined ? {} : { selector }), ports },
  };
}

function pdb(name: string, matchLabels: Record<string, string>): PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name },
    spec: { minAvailable: 1, selector: { matchLabels } },
  };
}

function hpa(name: string, target: string): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, maxReplicas: 5 },
  };
}

const namespaceObject: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };
const configMap: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings' },
  data: {},
};

function plan(objects: KubeObject[], namespace?: string): BlueGreenPlan {
  return planBlueGreen(objects, { app: 'shop', environment: 'dev', manifestText: 'text', namespace });
}

function findingsOf(p: BlueGreenPlan, level: LintFinding['level']): string[] {
  return p.findings.filter((f) => f.level === level).map((f) => `${f.object}: ${f.message}`);
}

describe('planBlueGreen', () => {
  it('maps each Service to the one Deployment whose pods it selects, with its HPA and PDBs', () => {
    const p = plan([
      deployment('web', { replicas: 3, initImage: `registry.local/migrate@${DIGEST}` }),
      deployment('api', { ports: [{ name: 'grpc', containerPort: 9000 }] }),
      service('web', { app: 'web' }),
      service('web-admin', { app: 'web' }, [{ name: 'admin', port: 9090, targetPort: 8080 }]),
      service('api', { app: 'api' }, [{ name: 'grpc', port: 9000, targetPort: 'grpc' }]),
      hpa('api', 'api'),
      pdb('api', { app: 'api' }),
    ]);

    expect(p.findings).toEqual([]);
    expect(p.services.map((s) => [s.name, s.deployment])).toEqual([
      ['web', 'web'],
      ['web-admin', 'web'],
      ['api', 'api'],
    ]);
    const web = p.deployments.find((d) => d.name === 'web');
    const api = p.deployments.find((d) => d.name === 'api');
    expect(web?.services).toEqual(['web', 'web-admin']);
    expect(web?.replicas).toBe(3);
    expect(web?.images).toEqual([`registry.local/migrate@${DIGEST}`, `registry.local/web@${DIGEST}`]);
    expect(web?.hpa).toBeUndefined();
    expect(web?.pdbs).toEqual([]);
    expect(api?.replicas).toBe(1);
    expect(api?.hpa?.metadata.name).toBe('api');
    expect(api?.pdbs.map((x) => x.metadata.name)).toEqual(['api']);
    expect(p.shared).toEqual([]);
  });

  it('puts the configuration it does not color in shared, Namespaces first, and every namespaced object in the namespace', () => {
    const p = plan([
      { ...configMap, metadata: { name: 'settings', namespace: 'shop' } },
      deployment('worker', { namespace: 'shop' }),
      service('external', undefined),
      namespaceObject,
    ]);
    expect(p.namespace).toBe('shop');
    expect(p.shared.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Namespace/shop',
      'ConfigMap/settings',
      'Service/external',
    ]);
    expect(p.shared.map((o) => o.metadata.namespace)).toEqual([undefined, 'shop', 'shop']);
    expect(p.inStep.map((o) => `${o.kind}/${o.metadata.name}/${o.metadata.namespace ?? ''}`)).toEqual([
      'Deployment/worker/shop',
    ]);
    expect(p.deployments).toEqual([]);
  });

  it("uses the namespace override over the objects' own, and 'default' when nothing names one", () => {
    expect(
      plan([{ ...configMap, metadata: { name: 'c', namespace: 'a' } }], 'prod').shared[0]?.metadata.namespace,
    ).toBe('prod');
    expect(plan([configMap]).namespace).toBe('default');
  });

  it('refuses objects spread over several namespaces, naming them', () => {
    const objects = [
      { ...configMap, metadata: { name: 'c', namespace: 'shop' } },
      deployment('web', { namespace: 'web' }),
      deployment('api', { namespace: 'api' }),
    ];
    let error: unknown;
    try {
      plan(objects);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toBe(
      'The overlay puts objects in 3 namespaces (api, shop, web); a release lives in one.',
    );
    expect((error as ActionError).hint).toContain("the action's `namespace` input");
    expect(() => plan(objects, 'shop')).not.toThrow();
  });

  it('hashes the manifest text', () => {
    const p = planBlueGreen([], { app: 'a', environment: 'e', manifestText: 'kind: ConfigMap\n' });
    expect(p.manifestHash).toBe(`sha256:${createHash('sha256').update('kind: ConfigMap\n').digest('hex')}`);
    expect(planBlueGreen([], { app: 'a', environment: 'e', manifestText: 'other' }).manifestHash).not.toBe(
      p.manifestHash,
    );
  });

  describe('lint', () => {
    it('reports a selector that does not match the pod labels', () => {
      const p = plan([
        deployment('web', { labels: { app: 'web' }, selector: { app: 'webx' } }),
        service('web', { app: 'web' }),
      ]);
      expect(findingsOf(p, 'error')).toEqual([
        'Deployment/web: its selector {app=webx} does not match its pod labels {app=web}',
      ]);
    });

    it('reports matchExpressions and an empty selector', () => {
      const d = deployment('web');
      d.spec!.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] };
      expect(findingsOf(plan([d]), 'error')).toEqual([
        'Deployment/web: its selector uses matchExpressions; blue-green needs matchLabels',
        'Deployment/web: its selector has no matchLabels',
      ]);
    });

    it("reports images not pinned by digest, with the 'latest' wording only for latest or no tag", () => {
      const p = plan([
        deployment('tagged', { image: 'registry.local/tagged:1.25' }),
        deployment('latest', { image: 'registry.local/latest:latest' }),
        deployment('bare', { image: 'registry.local:5000/bare' }),
        deployment('pinned', { image: `registry.local/pinned:1.0@${DIGEST}` }),
        deployment('empty', { image: '' }),
      ]);
      expect(findingsOf(p, 'error')).toEqual([
        "Deployment/tagged: container 'tagged' runs registry.local/tagged:1.25, which is not pinned by digest; pass its digest in 'images'",
        "Deployment/latest: container 'latest' runs registry.local/latest:latest, which is not pinned by digest (a 'latest' tag moves under you); pass its digest in 'images'",
        "Deployment/bare: container 'bare' runs registry.local:5000/bare, which is not pinned by digest (a 'latest' tag moves under you); pass its digest in 'images'",
        "Deployment/empty: container 'empty' has no image",
      ]);
    });

    it('checks init container images too', () => {
      const p = plan([deployment('web', { initImage: 'busybox:1.36' })]);
      expect(findingsOf(p, 'error')).toEqual([
        "Deployment/web: container 'init' runs busybox:1.36, which is not pinned by digest; pass its digest in 'images'",
      ]);
    });

    it('warns about a container without a readinessProbe (init containers need none)', () => {
      const p = plan([
        deployment('web', { probe: false, initImage: `x@${DIGEST}` }),
        service('web', { app: 'web' }),
      ]);
      expect(findingsOf(p, 'warning')).toEqual([
        "Deployment/web: container 'web' has no readinessProbe: it counts as Ready as soon as it starts",
      ]);
      expect(findingsOf(p, 'error')).toEqual([]);
    });

    it('refuses a Deployment without containers', () => {
      const d = deployment('web');
      d.spec!.template!.spec!.containers = [];
      expect(findingsOf(plan([d]), 'error')).toEqual(['Deployment/web: has no containers']);
    });

    it('refuses a Service that selects the pods of two Deployments, and does not switch it', () => {
      const p = plan([
        deployment('web', { labels: { app: 'shop', tier: 'web' } }),
        deployment('api', { labels: { app: 'shop', tier: 'api' } }),
        service('shop', { app: 'shop' }),
      ]);
      expect(findingsOf(p, 'error')).toEqual([
        'Service/shop: selects the pods of 2 Deployments (web, api); a switched Service must select exactly one',
      ]);
      expect(p.services).toEqual([]);
    });

    it('refuses a named targetPort that no container of the selected Deployment declares', () => {
      const p = plan([
        deployment('web', { ports: [{ name: 'http', containerPort: 8080 }] }),
        service('web', { app: 'web' }, [
          { name: 'http', port: 80, targetPort: 'http' },
          { name: 'metrics', port: 9100, targetPort: 'metrics' },
          { name: 'numbered', port: 81, targetPort: '8080' },
          { port: 82, targetPort: 8080 },
        ]),
      ]);
      expect(findingsOf(p, 'error')).toEqual([
        "Service/web: port metrics targets the named port 'metrics', which no container of Deployment/web declares",
      ]);
    });

    it('refuses the reserved color label, on any object and in a Service selector', () => {
      const p = plan([
        { ...configMap, metadata: { name: 'settings', labels: { 'dreamscape.io/color': 'blue' } } },
        deployment('web'),
        service('web', { app: 'web', 'dreamscape.io/color': 'blue' }),
      ]);
      expect(findingsOf(p, 'error')).toEqual([
        'ConfigMap/settings: the label dreamscape.io/color is reserved: the release engine sets it',
        'Service/web: its selector must not set dreamscape.io/color: the release engine switches it',
      ]);
      expect(p.services).toEqual([]);
    });

    it('warns about a PDB that covers the pods of two switched Deployments', () => {
      const p = plan([
        deployment('web', { labels: { app: 'web', team: 'shop' } }),
        deployment('api', { labels: { app: 'api', team: 'shop' } }),
        service('web', { app: 'web' }),
        service('api', { app: 'api' }),
        pdb('shop', { team: 'shop' }),
      ]);
      expect(findingsOf(p, 'warning')).toEqual([
        'PodDisruptionBudget/shop: selects the pods of 2 Deployments: a pod matched by two PDBs cannot be evicted',
      ]);
    });

    it('does not warn about a PDB over two Deployments when one of them is rolled, not colored', () => {
      const p = plan([
        deployment('web', { labels: { app: 'web', team: 'shop' } }),
        deployment('worker', { labels: { app: 'worker', team: 'shop' } }),
        service('web', { app: 'web' }),
        pdb('shop', { team: 'shop' }),
      ]);
      expect(findingsOf(p, 'warning')).toEqual([]);
      expect(p.inStep.map((o) => o.metadata.name)).toEqual(['worker']);
    });

    it('releases a Deployment no Service selects with the Services (in step), its HPA in shared', () => {
      const p = plan([deployment('worker'), hpa('worker', 'worker')]);
      expect(findingsOf(p, 'warning')).toEqual([]);
      expect(p.deployments).toEqual([]);
      expect(p.inStep.map((o) => o.kind)).toEqual(['Deployment']);
      expect(p.shared.map((o) => o.kind)).toEqual(['HorizontalPodAutoscaler']);
      expect(p.workloads).toEqual([
        {
          kind: 'Deployment',
          name: 'worker',
          cls: 'in-step',
          reason: 'no Service selects it: updated when the Services switch, returned with them',
        },
      ]);
    });

    it('warns about a Service that selects no Deployment, and applies it as it is', () => {
      const p = plan([deployment('web'), service('web', { app: 'web' }), service('db', { app: 'db' })]);
      expect(findingsOf(p, 'warning')).toEqual([
        'Service/db: selects no Deployment of the overlay; it is applied as it is and never switched',
      ]);
      expect(p.shared.map((o) => o.metadata.name)).toEqual(['db']);
    });

    it('warns about a switched Service whose name ends in -preview', () => {
      const p = plan([deployment('web'), service('web-preview', { app: 'web' })]);
      expect(findingsOf(p, 'warning')).toEqual([
        'Service/web-preview: its name ends in -preview, which the engine also uses for preview Services',
      ]);
    });

    it('refuses two HPAs for one Deployment', () => {
      const p = plan([deployment('web'), service('web', { app: 'web' }), hpa('a', 'web'), hpa('b', 'web')]);
      expect(findingsOf(p, 'error')).toEqual([
        'Deployment/web: is the target of 2 HorizontalPodAutoscalers; one at most',
      ]);
    });
  });
});

describe('assertNoLintErrors', () => {
  it('lists every error in one message, counted, and ignores warnings', () => {
    const p = plan([
      deployment('web', { image: 'web:1' }),
      deployment('api', { image: 'api:2', probe: false }),
      service('web', { app: 'web' }),
      service('api', { app: 'api' }),
    ]);
    expect(() => {
      assertNoLintErrors(p, 'manifests');
    }).toThrow(
      new ActionError(
        "The manifests cannot be deployed blue-green: 2 problems:\n- Deployment/web: container 'web' runs web:1, which is not pinned by digest; pass its digest in 'images'\n- Deployment/api: container 'api' runs api:2, which is not pinned by digest; pass its digest in 'images'",
      ),
    );
  });

  it('says "1 problem" for one, and names the overlay by default', () => {
    const p = plan([deployment('web', { image: 'web:1' }), service('web', { app: 'web' })]);
    expect(() => {
      assertNoLintErrors(p);
    }).toThrow(/^The overlay cannot be deployed blue-green: 1 problem:\n- Deployment\/web: /);
  });

  it('passes a plan with warnings only', () => {
    const p = plan([deployment('web', { probe: false }), service('web', { app: 'web' })]);
    expect(p.findings).toHaveLength(1);
    expect(() => {
      assertNoLintErrors(p);
    }).not.toThrow();
  });
});

describe('colored copies', () => {
  const objects = (): KubeObject[] => [
    deployment('web', { replicas: 2, namespace: 'shop' }),
    {
      ...service('web', { app: 'web' }, [{ name: 'http', port: 80, targetPort: 'http', nodePort: 30080 }]),
      metadata: { name: 'web', namespace: 'shop', labels: { team: 'shop' } },
    },
    hpa('web', 'web'),
    pdb('web', { app: 'web' }),
  ];
  const setup = () => {
    const p = plan(objects());
    const d = p.deployments[0]!;
    const s = p.services[0]!;
    return { p, d, s };
  };
  const releaseLabels = {
    'dreamscape.io/app': 'shop',
    'dreamscape.io/environment': 'dev',
    'app.kubernetes.io/managed-by': 'dreamscape',
  };

  it('coloredDeployment: <name>-<color>, the color in selector and pod labels, replicas set', () => {
    const { p, d } = setup();
    const blue = coloredDeployment(p, d, 'blue', 4);
    expect(blue.metadata.name).toBe('web-blue');
    expect(blue.metadata.namespace).toBe('shop');
    expect(blue.metadata.labels).toEqual({ ...releaseLabels, 'dreamscape.io/color': 'blue' });
    expect(blue.metadata.annotations).toEqual({ [TEMPLATE_HASH_ANNOTATION]: templateHash(d) });
    expect(blue.spec?.selector).toEqual({ matchLabels: { app: 'web', 'dreamscape.io/color': 'blue' } });
    expect(blue.spec?.template?.metadata?.labels).toEqual({ app: 'web', 'dreamscape.io/color': 'blue' });
    expect(blue.spec?.template?.spec).toEqual(d.manifest.spec?.template?.spec);
    expect(blue.spec?.replicas).toBe(4);
  });

  it('coloredDeployment: replicas left out for the HPA, and the planned manifest untouched', () => {
    const { p, d } = setup();
    const before = structuredClone(d.manifest);
    const green = coloredDeployment(p, d, 'green', undefined);
    expect(green.metadata.name).toBe('web-green');
    expect(green.spec).not.toHaveProperty('replicas');
    expect(green.spec?.selector?.matchLabels?.['dreamscape.io/color']).toBe('green');
    expect(d.manifest).toEqual(before);
  });

  it('templateHash: the same for both colors and for any key order, different for another template', () => {
    const { p, d } = setup();
    expect(templateHash(d)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(coloredDeployment(p, d, 'blue', 1).metadata.annotations?.[TEMPLATE_HASH_ANNOTATION]).toBe(
      coloredDeployment(p, d, 'green', 1).metadata.annotations?.[TEMPLATE_HASH_ANNOTATION],
    );

    const reorder = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reorder);
      if (typeof value !== 'object' || value === null) return value;
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, reorder(v)]),
      );
    };
    const reordered = {
      ...d,
      manifest: { ...d.manifest, spec: reorder(d.manifest.spec) as Deployment['spec'] },
    };
    expect(JSON.stringify(reordered.manifest.spec)).not.toBe(JSON.stringify(d.manifest.spec));
    expect(templateHash(reordered)).toBe(templateHash(d));

    const other = structuredClone(d.manifest);
    other.spec!.template!.spec!.containers![0]!.image = `registry.local/web@sha256:${'b'.repeat(64)}`;
    expect(templateHash({ ...d, manifest: other })).not.toBe(templateHash(d));
    // Replicas are not part of the pod template: scaling keeps the hash.
    const scaled = structuredClone(d.manifest);
    scaled.spec!.replicas = 9;
    expect(templateHash({ ...d, manifest: scaled })).toBe(templateHash(d));
  });

  it('coloredHpa targets the colored Deployment; undefined without an HPA', () => {
    const { p, d } = setup();
    const h = coloredHpa(p, d, 'green');
    expect(h?.metadata.name).toBe('web-green');
    expect(h?.metadata.labels).toEqual({ ...releaseLabels, 'dreamscape.io/color': 'green' });
    expect(h?.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-green' });
    expect(h?.spec?.maxReplicas).toBe(5);
    expect(coloredHpa(p, { ...d, hpa: undefined }, 'green')).toBeUndefined();
  });

  it("coloredPdbs select only that color's pods", () => {
    const { p, d } = setup();
    const pdbs = coloredPdbs(p, d, 'blue');
    expect(pdbs).toHaveLength(1);
    expect(pdbs[0]?.metadata.name).toBe('web-blue');
    expect(pdbs[0]?.metadata.labels?.['dreamscape.io/color']).toBe('blue');
    expect(pdbs[0]?.spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: { app: 'web', 'dreamscape.io/color': 'blue' } },
    });
  });

  it('coloredService keeps the Service as written and adds the color to its selector', () => {
    const { p, s } = setup();
    const svc = coloredService(p, s, 'green');
    expect(svc.metadata.name).toBe('web');
    expect(svc.metadata.labels).toEqual({ team: 'shop', ...releaseLabels });
    expect(svc.spec?.selector).toEqual({ app: 'web', 'dreamscape.io/color': 'green' });
    expect(svc.spec?.ports).toEqual(s.ports);
    expect(s.selector).toEqual({ app: 'web' });
  });

  it('previewService: a ClusterIP <service>-preview on the same ports, without node ports', () => {
    const { p, s } = setup();
    expect(previewService(p, s, 'blue')).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web-preview',
        namespace: 'shop',
        labels: { ...releaseLabels, 'dreamscape.io/role': 'preview' },
      },
      spec: {
        type: 'ClusterIP',
        selector: { app: 'web', 'dreamscape.io/color': 'blue' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    });
  });
});

describe('planBlueGreen classes', () => {
  const pinned = `redis@${DIGEST}`;
  const statefulSet: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'redis' },
    spec: {
      serviceName: 'redis',
      selector: { matchLabels: { app: 'redis' } },
      template: {
        metadata: { labels: { app: 'redis' } },
        spec: { containers: [{ name: 'redis', image: pinned }] },
      },
    },
  };
  const withClaim = (name: string): Deployment => {
    const d = deployment(name);
    const podSpec = d.spec?.template?.spec as Record<string, unknown>;
    podSpec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } }];
    return d;
  };
  const marked = (name: string, value: string): Deployment => {
    const d = deployment(name);
    d.metadata.annotations = { 'dreamscape.io/release': value };
    return d;
  };
  const cronJob: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'sync' },
    spec: {
      schedule: '* * * * *',
      jobTemplate: { spec: { template: { spec: { containers: [{ name: 'c', image: `sync:1` }] } } } },
    },
  };

  it('never colors a StatefulSet, a Deployment with a claim, or a workload marked shared; their Services are not switched', () => {
    const p = plan([
      deployment('web'),
      service('web', { app: 'web' }),
      statefulSet,
      service('redis', { app: 'redis' }),
      withClaim('db'),
      service('db', { app: 'db' }),
      marked('cache', 'shared'),
      service('cache', { app: 'cache' }),
    ]);
    expect(p.deployments.map((d) => d.name)).toEqual(['web']);
    expect(p.services.map((s) => s.name)).toEqual(['web']);
    expect(p.stateful.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'StatefulSet/redis',
      'Deployment/db',
      'Deployment/cache',
    ]);
    expect(p.shared.map((o) => o.metadata.name)).toEqual(['redis', 'db', 'cache']);
    expect(findingsOf(p, 'warning')).toEqual([]);
    expect(Object.fromEntries(p.workloads.map((w) => [w.name, w.cls]))).toEqual({
      web: 'colored',
      db: 'stateful',
      cache: 'stateful',
      redis: 'stateful',
    });
  });

  it('releases DaemonSets and CronJobs in step, and holds their images to the same pins', () => {
    const p = plan([deployment('web'), service('web', { app: 'web' }), cronJob]);
    expect(p.inStep.map((o) => o.kind)).toEqual(['CronJob']);
    expect(findingsOf(p, 'error')).toEqual([
      "CronJob/sync: container 'c' runs sync:1, which is not pinned by digest; pass its digest in 'images'",
    ]);
  });

  it('refuses a release annotation it does not know, naming what it accepts', () => {
    const p = plan([marked('web', 'pinned'), service('web', { app: 'web' })]);
    expect(findingsOf(p, 'error')).toEqual([
      "Deployment/web: its annotation dreamscape.io/release is 'pinned'; accepted: shared",
    ]);
  });
});
