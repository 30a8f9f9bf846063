import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { COLOR_LABEL, startKubeDouble, type KubeDouble } from '../src/index.js';
import { deployment, kubectlFor, ok, service, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

const colored = (name: string, color: string, image: string, replicas = 2): Record<string, unknown> =>
  deployment(`${name}-${color}`, image, { replicas, labels: { app: name, [COLOR_LABEL]: color } });
const selecting = (name: string, color: string): Record<string, unknown> =>
  service(name, { app: name, [COLOR_LABEL]: color });

beforeAll(async () => {
  double = await startKubeDouble({
    timeScale: 20,
    behaviours: [{ image: '*:never', ready: 'never' }],
    monitorExclude: ['*-preview'],
  });
  k = kubectlFor(double);
  // blue is healthy, green never becomes Ready.
  ok(
    await k(['apply', '--server-side', '-f', '-'], {
      stdin: yaml(colored('web', 'blue', 'web:1'), colored('web', 'green', 'web:never')),
    }),
  );
  ok(await k(['rollout', 'status', 'deploy/web-blue', '--timeout=30s']));
});

beforeEach(() => {
  double.clearLogs();
});

afterAll(async () => {
  await double.close();
});

describe('invariant monitor', () => {
  it('records nothing while a colored Service selects Ready pods of one color', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(selecting('web', 'blue')) }));
    await double.settle();
    expect(double.violations()).toEqual([]);
  });

  it('records the moment a Service is switched to unready pods, and when it ends', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(selecting('web', 'blue')) }));
    ok(
      await k([
        'patch',
        'svc',
        'web',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { selector: { [COLOR_LABEL]: 'green' } } }),
      ]),
    );
    const during = double.violations();
    expect(during.map((v) => v.kind).sort()).toEqual(['no-ready-pods', 'unready-pods']);
    expect(during[0]).toMatchObject({
      service: 'default/web',
      selector: { app: 'web', [COLOR_LABEL]: 'green' },
      colors: ['green'],
    });
    expect(during.find((v) => v.kind === 'unready-pods')?.pods).toHaveLength(2);
    expect(during.every((v) => v.endedAt === undefined)).toBe(true);

    ok(
      await k([
        'patch',
        'svc',
        'web',
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { selector: { [COLOR_LABEL]: 'blue' } } }),
      ]),
    );
    const after = double.violations();
    expect(after).toHaveLength(2);
    expect(after.every((v) => v.endedAt !== undefined)).toBe(true);

    const viaHttp = (await (await fetch(`${double.url}/_double/violations`)).json()) as { kind: string }[];
    expect(viaHttp.map((v) => v.kind).sort()).toEqual(['no-ready-pods', 'unready-pods']);
  });

  it('records zero Ready pods when the selected color is scaled away', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(colored('api', 'blue', 'api:1', 1)) }));
    ok(await k(['rollout', 'status', 'deploy/api-blue', '--timeout=30s']));
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(selecting('api', 'blue')) }));
    await double.settle();
    expect(double.violations().filter((v) => v.name === 'api')).toEqual([]);
    ok(await k(['scale', 'deploy', 'api-blue', '--replicas=0']));
    await double.settle();
    const found = double.violations().filter((v) => v.name === 'api');
    expect(found.map((v) => v.kind)).toEqual(['no-ready-pods']);
    expect(found[0]?.message).toBe('service default/api selects no Ready pod (0 selected)');
    ok(await k(['delete', 'svc', 'api']));
    expect(double.violations().find((v) => v.name === 'api')?.endedAt).toBeDefined();
  });

  it('records pods that are not Ready yet behind a colored Service', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(colored('late', 'blue', 'late:1', 1), selecting('late', 'blue')),
      }),
    );
    ok(await k(['rollout', 'status', 'deploy/late-blue', '--timeout=30s']));
    await double.settle();
    const kinds = double
      .violations()
      .filter((v) => v.name === 'late')
      .map((v) => v.kind);
    expect(kinds).toContain('unready-pods');
    expect(
      double
        .violations()
        .filter((v) => v.name === 'late')
        .every((v) => v.endedAt !== undefined),
    ).toBe(true);
  });

  it('ends a violation when a pod leaves the Service, judging it on the pod before the change', async () => {
    ok(await k(['create', 'namespace', 'leaving']));
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'solo', namespace: 'leaving', labels: { app: 'solo', [COLOR_LABEL]: 'green' } },
      spec: {
        containers: [{ name: 'web', image: 'solo:never', ports: [{ name: 'http', containerPort: 8080 }] }],
      },
    };
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(pod, service('solo', { app: 'solo', [COLOR_LABEL]: 'green' }, { namespace: 'leaving' })),
      }),
    );
    await double.settle();
    const open = double.violations().filter((v) => v.service === 'leaving/solo');
    expect(open.map((v) => v.kind).sort()).toEqual(['no-ready-pods', 'unready-pods']);
    expect(open.every((v) => v.endedAt === undefined)).toBe(true);

    // After the change the pod no longer matches the selector: only its previous labels tie it to the Service.
    ok(await k(['label', 'pod', 'solo', '-n', 'leaving', `${COLOR_LABEL}=blue`, '--overwrite']));
    await double.settle();
    const after = double.violations().filter((v) => v.service === 'leaving/solo');
    expect(after.find((v) => v.kind === 'unready-pods')?.endedAt).toBeDefined();
    expect(after.find((v) => v.kind === 'no-ready-pods')?.endedAt).toBeUndefined();
    ok(await k(['delete', 'namespace', 'leaving', '--wait=false']));
  });

  it('records a violation still open again after the log is cleared, at the next change in its namespace', async () => {
    ok(await k(['create', 'namespace', 'cleared']));
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(service('stuck', { app: 'stuck', [COLOR_LABEL]: 'green' }, { namespace: 'cleared' })),
      }),
    );
    await double.settle();
    expect(
      double
        .violations()
        .filter((v) => v.service === 'cleared/stuck')
        .map((v) => v.kind),
    ).toEqual(['no-ready-pods']);
    double.clearLogs();
    expect(double.violations()).toEqual([]);

    // A change that has nothing to do with the stuck Service still brings its open violation back.
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(service('bystander', { app: 'other' }, { namespace: 'cleared' })),
      }),
    );
    await double.settle();
    const again = double.violations().filter((v) => v.service === 'cleared/stuck');
    expect(again.map((v) => v.kind)).toEqual(['no-ready-pods']);
    expect(again[0]?.endedAt).toBeUndefined();
    ok(await k(['delete', 'namespace', 'cleared', '--wait=false']));
  });

  it('ignores Services without a color key and excluded names', async () => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(service('plain', { app: 'web' }), selecting('web-preview', 'green')),
      }),
    );
    await double.settle();
    expect(double.violations().filter((v) => v.name === 'plain' || v.name === 'web-preview')).toEqual([]);
  });
});

describe('invariant monitor, StatefulSets', () => {
  const redis = (ns: string, image: string, replicas: number): Record<string, unknown> => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'redis', namespace: ns },
    spec: {
      serviceName: 'redis',
      replicas,
      selector: { matchLabels: { app: 'redis' } },
      template: { metadata: { labels: { app: 'redis' } }, spec: { containers: [{ name: 'redis', image }] } },
    },
  });
  const headless = (ns: string): Record<string, unknown> => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'redis', namespace: ns },
    spec: { clusterIP: 'None', selector: { app: 'redis' }, ports: [{ port: 6379 }] },
  });
  const setUp = async (ns: string, replicas: number): Promise<void> => {
    ok(
      await k(['apply', '--server-side', '-f', '-'], {
        stdin: yaml(
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
          headless(ns),
          redis(ns, 'redis:7', replicas),
        ),
      }),
    );
    ok(await k(['rollout', 'status', 'sts/redis', '-n', ns, '--timeout=60s']));
  };

  it('records nothing while the pods start for the first time', async () => {
    await setUp('sts-start', 2);
    expect(double.violations()).toEqual([]);
  });

  it('records the outage of a one-replica StatefulSet`s rolling update', async () => {
    await setUp('sts-one', 1);
    double.clearLogs();
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(redis('sts-one', 'redis:8', 1)) }));
    ok(await k(['rollout', 'status', 'sts/redis', '-n', 'sts-one', '--timeout=60s']));
    const violations = double.violations();
    expect(violations.map((v) => [v.kind, v.service])).toEqual([['no-ready-pods', 'sts-one/redis']]);
    expect(violations[0]?.message).toBe(
      'service sts-one/redis selects no Ready pod of statefulset redis (0 selected)',
    );
    expect(violations[0]?.endedAt).toBeDefined();
  });

  it('records nothing for a two-replica rolling update, nor for scaling to zero', async () => {
    await setUp('sts-two', 2);
    double.clearLogs();
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(redis('sts-two', 'redis:8', 2)) }));
    ok(await k(['rollout', 'status', 'sts/redis', '-n', 'sts-two', '--timeout=60s']));
    ok(await k(['scale', 'sts/redis', '-n', 'sts-two', '--replicas=0']));
    ok(await k(['rollout', 'status', 'sts/redis', '-n', 'sts-two', '--timeout=60s']));
    await double.settle();
    expect(double.objects('pods', 'sts-two')).toEqual([]);
    expect(double.violations()).toEqual([]);
  });
});
