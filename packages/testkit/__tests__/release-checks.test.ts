import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type KubeDouble } from '@dreamscape/kube-double';
import { runKubectl } from '../src/kubectl.js';
import { liveColorProblems } from '../src/release-checks.js';

const NS = 'checks';
let double: KubeDouble;

function deployment(color: string, image: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `web-${color}`, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web', 'dreamscape.io/color': color } },
      template: {
        metadata: { labels: { app: 'web', 'dreamscape.io/color': color } },
        spec: { containers: [{ name: 'web', image }] },
      },
    },
  });
}

function service(name: string, color: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: 'web', 'dreamscape.io/color': color }, ports: [{ port: 80 }] },
  });
}

async function apply(json: string): Promise<void> {
  const r = await runKubectl(['apply', '--server-side', '-f', '-'], {
    kubeconfig: double.kubeconfigPath,
    stdin: json,
  });
  expect(r.stderr).toBe('');
}

beforeAll(async () => {
  double = await startKubeDouble({
    namespaces: [NS],
    behaviours: [
      { image: 'web:never', ready: 'never' },
      { image: '*', ready: '100ms' },
    ],
    monitorExclude: ['*'],
  });
  await apply(deployment('blue', 'web:1'));
  await apply(deployment('green', 'web:never'));
  await apply(service('web', 'blue'));
  await apply(service('api', 'blue'));
  for (let i = 0; i < 50 && liveColorProblems(double, NS, ['web', 'api']).length > 0; i++)
    await new Promise((r) => setTimeout(r, 100));
}, 60_000);
afterAll(async () => {
  await double.close();
});

describe('liveColorProblems', () => {
  it('finds nothing when every Service selects the same color, with Ready pods', () => {
    expect(liveColorProblems(double, NS, ['web', 'api'])).toEqual([]);
  });

  it('names Services on different colors, unready pods and missing Services', async () => {
    await apply(service('api', 'green'));
    const problems = liveColorProblems(double, NS, ['web', 'api', 'gone']);
    expect(problems).toContainEqual(
      expect.stringMatching(/^Service checks\/api selects 1 unready pod\(s\): web-green-/),
    );
    expect(problems).toContain('Service checks/gone does not exist');
    expect(problems).toContain('the Services select different colors: blue, green');
    await apply(service('api', 'blue'));
    expect(liveColorProblems(double, NS, ['web', 'api'])).toEqual([]);
  }, 60_000);
});
