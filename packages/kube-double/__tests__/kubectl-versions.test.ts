import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KUBECTL_VERSIONS } from '@dreamscape/testkit';
import { startKubeDouble, type KubeDouble } from '../src/index.js';
import { deployment, failed, kubectlFor, namespace, ok, yaml, type Kubectl } from './support/manifests.js';

// What differs on the wire between the oldest and the newest tested kubectl (docs/kubectl-wire.md,
// "1.35 versus 1.32"), run by each against a double that reports the same version. Simulated time
// runs 20x faster.

describe.each(KUBECTL_VERSIONS)('kubectl $version against the double', ({ minor, version }) => {
  let double: KubeDouble;
  let k: Kubectl;
  const ns = 'versions';
  const inNs = (args: string[]): string[] => [...args, '-n', ns];
  /** kubectl 1.35 waits with one watch-list; 1.32 lists, then watches from the list's resourceVersion. */
  const watchList = minor >= 35;

  beforeAll(async () => {
    double = await startKubeDouble({
      timeScale: 20,
      serverVersion: version,
      behaviours: [
        { image: '*:never', ready: 'never' },
        { image: '*:deadline', ready: 'deadline' },
      ],
    });
    k = kubectlFor(double, minor);
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace(ns)) }));
  });

  afterAll(async () => {
    expect(double.errors()).toEqual([]);
    await double.close();
  });

  /** The requests this kubectl sent for one Deployment's collection, with their query. */
  function collectionRequests(name: string): string[] {
    return double
      .requests()
      .filter(
        (r) =>
          r.userAgent.startsWith(`kubectl/${version} `) &&
          r.path.startsWith(`/apis/apps/v1/namespaces/${ns}/deployments?`) &&
          r.path.includes(`metadata.name%3D${name}`),
      )
      .map((r) => r.path);
  }

  it('reports the same server version, so kubectl sees no version skew', async () => {
    const result = await k(['version']);
    expect(ok(result)).toContain(`Client Version: ${version}`);
    expect(result.stdout).toContain(`Server Version: ${version}`);
    expect(result.stderr).not.toMatch(/version difference|skew/);
  });

  it('rollout status and wait complete, through a watch-list where kubectl asks for one', async () => {
    // Pods that are never Ready first, so that neither command finds the rollout done at its first
    // read: kubectl 1.32 goes on to watch only while it still waits after its list, and whether that
    // list came before or after the rollout completed would otherwise be a race.
    const web = (image: string): string =>
      yaml(deployment('web', image, { replicas: 2, spec: { progressDeadlineSeconds: 3600 } }));
    ok(await k(inNs(['apply', '--server-side', '-f', '-']), { stdin: web('nginx:never') }));
    const status = k(inNs(['rollout', 'status', 'deploy/web', '--timeout=60s']));
    const wait = k(inNs(['wait', '--for=condition=Available', 'deploy/web', '--timeout=60s']));
    // 1.32 lists, then watches until the condition is met: once both lists are answered, both watch.
    // 1.35 sends its watch-list alone, whenever it starts.
    const requests = (): string[] => collectionRequests('web');
    if (!watchList) await until(() => requests().filter((p) => !p.includes('watch=true')).length >= 2);
    ok(await k(inNs(['apply', '--server-side', '-f', '-']), { stdin: web('nginx:1.27') }));
    expect(ok(await status)).toContain('deployment "web" successfully rolled out');
    expect(ok(await wait)).toContain('deployment.apps/web condition met');
    // A request is logged when its connection closes, which kubectl's exit may be seen before.
    const watches = (): string[] => requests().filter((p) => p.includes('watch=true'));
    await until(() => watches().length >= 2);
    // One watch for rollout status, one for wait.
    expect(watches()).toHaveLength(2);
    for (const w of watches()) {
      expect(w.includes('sendInitialEvents=true')).toBe(watchList);
      expect(w.includes('resourceVersionMatch=NotOlderThan')).toBe(watchList);
    }
    // The list before each watch is gone with a watch-list.
    expect(requests().filter((p) => !p.includes('watch=true'))).toHaveLength(watchList ? 0 : 2);
  });

  it('rollout status fails at once on ProgressDeadlineExceeded and times out on pods never Ready', async () => {
    ok(
      await k(inNs(['apply', '--server-side', '-f', '-']), {
        stdin: yaml(deployment('dead', 'nginx:deadline', { replicas: 1 })),
      }),
    );
    expect(failed(await k(inNs(['rollout', 'status', 'deploy/dead', '--timeout=30s'])))).toContain(
      'error: deployment "dead" exceeded its progress deadline',
    );
    ok(
      await k(inNs(['apply', '--server-side', '-f', '-']), {
        stdin: yaml(deployment('stuck', 'nginx:never', { replicas: 1 })),
      }),
    );
    // The timeout is the wait being tested: long enough for kubectl to read the Deployment and say
    // what it waits for on a loaded machine, short of the progress deadline (600 s, 30 s here).
    const stuck = await k(inNs(['rollout', 'status', 'deploy/stuck', '--timeout=5s']));
    expect(failed(stuck)).toContain('timed out waiting for the condition');
    expect(stuck.stdout).toContain(
      'Waiting for deployment "stuck" rollout to finish: 0 of 1 updated replicas are available...',
    );
  });
});

describe('serverVersion', () => {
  it('is what /version and the nodes report; v1.32.3 unless asked', async () => {
    const plain = await startKubeDouble();
    const asked = await startKubeDouble({ serverVersion: 'v1.35.2' });
    try {
      expect(await (await fetch(`${plain.url}/version`)).json()).toMatchObject({
        major: '1',
        minor: '32',
        gitVersion: 'v1.32.3',
      });
      expect(await (await fetch(`${asked.url}/version`)).json()).toMatchObject({
        major: '1',
        minor: '35',
        gitVersion: 'v1.35.2',
      });
      const node = asked.objects('nodes')[0] as { status: { nodeInfo: { kubeletVersion: string } } };
      expect(node.status.nodeInfo.kubeletVersion).toBe('v1.35.2');
    } finally {
      await plain.close();
      await asked.close();
    }
  });

  it('must be v<major>.<minor>.<patch>', async () => {
    await expect(startKubeDouble({ serverVersion: '1.35' })).rejects.toThrow(
      'serverVersion must look like v1.35.2, got "1.35"',
    );
  });
});

/**
 * Polls `done` every 20 ms until it holds or `limitMs` (default 30 s) passed, without failing: the
 * assertions after it say what was missing.
 */
async function until(done: () => boolean, limitMs = 30_000): Promise<void> {
  for (let waited = 0; waited < limitMs && !done(); waited += 20)
    await new Promise((resolve) => setTimeout(resolve, 20));
}
