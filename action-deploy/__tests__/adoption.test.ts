import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  buildRecords,
  deploy,
  healthChecks,
  holdLock,
  OVERLAYS,
  repoRoot,
  runKubectl,
  serviceColors,
  SERVICES,
  startCluster,
  startGitHubApi,
  type ExampleCluster,
  type GitHubApiServer,
} from '@dreamscape/testkit';

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await cluster.double.close();
});

describe('action-deploy adopting Deployments that were deployed without colors', () => {
  it('brings blue up beside them and moves each Service over without a gap', async () => {
    // What a team runs before adopting the action: the plain overlay, applied by hand.
    const rendered = await runKubectl(['kustomize', `${repoRoot}/${OVERLAYS}/dev`]);
    expect(rendered.exitCode).toBe(0);
    const applied = await runKubectl(['apply', '--server-side', '-f', '-'], {
      kubeconfig: cluster.double.kubeconfigPath,
      stdin: rendered.stdout,
    });
    expect(applied.stderr).toBe('');
    for (const s of SERVICES) {
      const status = await runKubectl(
        ['rollout', 'status', `deployment/${s}`, '-n', 'dreamscape-dev', '--timeout=60s'],
        { kubeconfig: cluster.double.kubeconfigPath },
      );
      expect(status.exitCode).toBe(0);
    }
    expect(serviceColors(cluster.double).gateway).toBeUndefined();

    const r = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'promoted', 'active-color': 'blue' });
    expect(r.stdout).toContain('The Services select un-colored pods: adopting them.');
    for (const s of SERVICES) expect([s, serviceColors(cluster.double)[s]]).toEqual([s, 'blue']);
    // The adopted Deployments are left running, untouched, for the team to delete when satisfied.
    const legacy = cluster.double
      .objects('deployments', 'dreamscape-dev')
      .filter((d) => SERVICES.includes((d.metadata as { name: string }).name as (typeof SERVICES)[number]));
    expect(legacy).toHaveLength(SERVICES.length);
    expect(cluster.double.violations()).toEqual([]);

    // The next release is an ordinary blue-green switch.
    const v2 = await deploy(cluster, { images: buildRecords('v2'), 'health-checks': healthChecks() });
    expect(v2.outputs).toMatchObject({
      result: 'promoted',
      'active-color': 'green',
      'previous-color': 'blue',
    });
    expect(cluster.double.violations()).toEqual([]);
  }, 300_000);
});

describe('action-deploy and GitHub Deployments', () => {
  let github: GitHubApiServer;
  const created: unknown[] = [];
  const statuses: unknown[] = [];
  beforeAll(async () => {
    github = await startGitHubApi({ token: 'ghs_deploy_token_0123456789' });
    github.route('POST', '/repos/:owner/:repo/deployments', ({ request }) => {
      created.push(request.body);
      return { status: 201, body: { id: 77 } };
    });
    github.route('POST', '/repos/:owner/:repo/deployments/:id/statuses', ({ request }) => {
      statuses.push(request.body);
      return { status: 201, body: { id: 1 } };
    });
  });
  afterAll(async () => {
    await github.close();
  });

  it('records the release as a deployment with in_progress then success, environment and log URLs', async () => {
    const r = await deploy(
      cluster,
      { images: buildRecords('v3'), 'health-checks': healthChecks(), 'github-token': github.token },
      { env: { GITHUB_API_URL: github.url } },
    );
    expect(r.errors).toEqual([]);
    expect(created).toEqual([
      expect.objectContaining({
        ref: 'c0ffee0000000000000000000000000000000000',
        environment: 'dev',
        required_contexts: [],
      }),
    ]);
    expect(statuses).toEqual([
      expect.objectContaining({
        state: 'in_progress',
        log_url: 'https://github.com/dreamscape/platform/actions/runs/100',
      }),
      expect.objectContaining({
        state: 'success',
        environment_url: 'https://dev.dreamscape.example.com',
        log_url: 'https://github.com/dreamscape/platform/actions/runs/100',
      }),
    ]);
    const shown = r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(shown + r.stderr + r.summary + JSON.stringify(r.outputs)).not.toContain(github.token);
  }, 120_000);

  it('a release that fails its gates ends its deployment with one final status: failure', async () => {
    created.length = 0;
    statuses.length = 0;
    const failing =
      '- name: teapot\n  service: gateway\n  port: http\n  path: /health\n  expect-status: 418\n  interval: 200ms';
    const r = await deploy(
      cluster,
      { images: buildRecords('v5'), 'health-checks': failing, 'github-token': github.token },
      { env: { GITHUB_API_URL: github.url } },
    );
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/^Deploy failed: /m);
    expect(created).toHaveLength(1);
    // The step fails too, but the deployment already says why: no second, `error` status after it.
    expect(statuses).toEqual([
      expect.objectContaining({ state: 'in_progress' }),
      expect.objectContaining({
        state: 'failure',
        description: expect.stringMatching(/^failed: revision \d+$/) as unknown,
      }),
    ]);
  }, 120_000);

  it('ends the deployment with error when the run stops on an error after creating it (the lock is held)', async () => {
    created.length = 0;
    statuses.length = 0;
    // Another run holds the lock, freshly renewed, for ten minutes.
    await holdLock(cluster.double, { holder: 'dreamscape/platform#999', ttlSeconds: 600 });
    const r = await deploy(
      cluster,
      {
        images: buildRecords('v4'),
        'health-checks': healthChecks(),
        'github-token': github.token,
        'lock-timeout': '1s',
      },
      { env: { GITHUB_API_URL: github.url } },
    );
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toMatch(/holds the lock .*dreamscape\/platform#999/);
    expect(created).toHaveLength(1);
    expect(statuses).toEqual([
      expect.objectContaining({ state: 'in_progress' }),
      expect.objectContaining({
        state: 'error',
        description: expect.stringMatching(/^stopped: .*dreamscape\/platform#999/) as unknown,
      }),
    ]);
  }, 120_000);
});
