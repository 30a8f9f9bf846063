import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CommandError, MemoryLogger } from '@dreamscape/core';
import { Kubectl, KubectlError, type KubeObject } from '../src/index.js';
import { FakeRunner, type FakeAnswer } from './support/fake-runner.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/stderr/${name}.txt`, import.meta.url), 'utf8');

function setup(answers: FakeAnswer[] = [], extra: Partial<ConstructorParameters<typeof Kubectl>[0]> = {}) {
  const runner = new FakeRunner(answers);
  const cacheDir = mkdtempSync(join(tmpdir(), 'kube-argv-'));
  const kubectl = new Kubectl({
    runner,
    logger: new MemoryLogger(),
    cacheDir,
    kubeconfig: '/cfg/kubeconfig',
    retry: { attempts: 1 },
    ...extra,
  });
  return { runner, kubectl, cacheDir };
}

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web-green', namespace: 'prod' },
  spec: { replicas: 2 },
};

describe('Kubectl argv', () => {
  const cases: {
    name: string;
    call: (k: Kubectl) => Promise<unknown>;
    argv: string[];
    answer?: FakeAnswer;
    stdin?: string;
  }[] = [
    {
      name: 'rollout undo to a revision',
      call: (k) => k.rolloutUndo({ kind: 'Deployment', name: 'web', namespace: 'prod' }, { toRevision: 2 }),
      argv: ['rollout', 'undo', 'deployments.apps/web', '--namespace=prod', '--to-revision=2'],
    },
    {
      name: 'rollout history',
      call: (k) => k.rolloutHistory({ kind: 'Deployment', name: 'web', namespace: 'prod' }),
      argv: ['rollout', 'history', 'deployments.apps/web', '--namespace=prod'],
      answer: { stdout: 'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n' },
    },
    {
      name: 'getRaw logs the request at -v=6 to learn the status',
      call: (k) => k.getRaw('/api/v1/namespaces/prod/services/web-preview:http/proxy/healthz'),
      argv: ['get', '--raw', '/api/v1/namespaces/prod/services/web-preview:http/proxy/healthz', '-v=6'],
    },
    {
      name: 'getRaw with its own timeout',
      call: (k) => k.getRaw('/healthz', { timeoutMs: 1500 }),
      argv: ['get', '--raw', '/healthz', '-v=6', '--request-timeout=1500ms'],
    },
    {
      name: 'canI with a subresource',
      call: (k) => k.canI('patch', 'deployments.apps', { namespace: 'prod', subresource: 'scale' }),
      argv: ['auth', 'can-i', 'patch', 'deployments.apps', '--namespace=prod', '--subresource=scale'],
      answer: { stdout: 'yes\n' },
    },
    {
      name: 'diffServerSide uses the same field manager as apply',
      call: (k) => k.diffServerSide([deployment]),
      argv: ['diff', '--server-side', '--field-manager=dreamscape', '-f', '-'],
    },
    {
      name: 'version',
      call: (k) => k.version(),
      argv: ['version', '-o', 'json'],
      answer: { stdout: JSON.stringify({ clientVersion: { gitVersion: 'v1.32.3' } }) },
    },
    {
      name: 'kustomize',
      call: (k) => k.kustomize('/repo/k8s/overlays/prod'),
      argv: ['kustomize', '/repo/k8s/overlays/prod'],
    },
  ];

  it.each(cases)('$name', async ({ call, argv, answer, stdin }) => {
    const { runner, kubectl } = setup(answer === undefined ? [] : [answer]);
    await call(kubectl);
    expect(runner.specs).toHaveLength(1);
    expect(runner.argv(0)).toEqual(argv);
    if (stdin !== undefined) expect(runner.specs[0]?.stdin).toBe(stdin);
  });

  it('adds kubeconfig, context, its own cache dir and request timeout to every call, with a private HOME', async () => {
    const { runner, kubectl, cacheDir } = setup([{ stdout: '' }], {
      context: 'prod-admin',
      requestTimeout: '20s',
      kubectlPath: '/opt/kubectl',
      env: { AWS_PROFILE: 'ci' },
    });
    await kubectl.rolloutHistory({ kind: 'Deployment', name: 'web', namespace: 'prod' });
    const spec = runner.specs[0]!;
    expect(spec.tool).toBe('/opt/kubectl');
    expect(spec.args.slice(-4)).toEqual([
      '--kubeconfig=/cfg/kubeconfig',
      '--context=prod-admin',
      `--cache-dir=${cacheDir}`,
      '--request-timeout=20s',
    ]);
    expect(spec.env).toMatchObject({ AWS_PROFILE: 'ci', HOME: join(cacheDir, 'home') });
  });

  it('keeps credential plugins reading their configuration from the real home directory', async () => {
    const { runner, kubectl } = setup([{ stdout: '' }], {
      env: { HOME: '/home/runner', AZURE_CONFIG_DIR: '/custom/azure' },
    });
    await kubectl.rolloutHistory({ kind: 'Deployment', name: 'web', namespace: 'prod' });
    const env = runner.specs[0]?.env ?? {};
    expect(env['HOME']).not.toBe('/home/runner');
    expect(env['AZURE_CONFIG_DIR']).toBe('/custom/azure');
    for (const [key, value] of [
      ['AWS_CONFIG_FILE', '/home/runner/.aws/config'],
      ['AWS_SHARED_CREDENTIALS_FILE', '/home/runner/.aws/credentials'],
      ['CLOUDSDK_CONFIG', '/home/runner/.config/gcloud'],
    ] as const) {
      if (process.env[key] === undefined) expect(env[key]).toBe(value);
      else expect(env[key]).toBeUndefined();
    }
  });

  it('never puts a request timeout on the long-running watch', async () => {
    const { runner, kubectl } = setup([{ stdout: '' }], { requestTimeout: '20s' });
    await kubectl.waitForRollouts([{ namespace: 'prod', name: 'web-green' }], { timeoutMs: 50 });
    expect(runner.argv(0)).toEqual([
      'get',
      'deployments.apps',
      '--namespace=prod',
      '--field-selector=metadata.name=web-green',
      '--watch',
      '--output-watch-events',
      '-o',
      'json',
    ]);
    expect(runner.specs[0]?.args.some((a) => a.startsWith('--request-timeout'))).toBe(false);
  });

  it('watches each kind of workload with its own resource, one process per namespace and kind', async () => {
    const { runner, kubectl } = setup([{ stdout: '' }, { stdout: '' }, { stdout: '' }]);
    await kubectl.waitForRollouts(
      [
        { kind: 'StatefulSet', namespace: 'prod', name: 'db' },
        { kind: 'DaemonSet', namespace: 'prod', name: 'agent' },
        { kind: 'DaemonSet', namespace: 'prod', name: 'logs' },
      ],
      { timeoutMs: 50 },
    );
    expect([runner.argv(0), runner.argv(1)]).toEqual([
      [
        'get',
        'statefulsets.apps',
        '--namespace=prod',
        '--field-selector=metadata.name=db',
        '--watch',
        '--output-watch-events',
        '-o',
        'json',
      ],
      ['get', 'daemonsets.apps', '--namespace=prod', '--watch', '--output-watch-events', '-o', 'json'],
    ]);
  });

  it('counts kubectl processes, retries included', async () => {
    const { runner, kubectl } = setup([], { retry: { attempts: 3, initialDelayMs: 1 } });
    runner.answer({ stdout: '' });
    await kubectl.rolloutHistory({ kind: 'Deployment', name: 'a', namespace: 'x' });
    await kubectl.canI('get', 'services', { namespace: 'x' }).catch(() => undefined);
    expect(kubectl.calls).toBe(2);
    // The fake runner does not retry by itself; the retry predicate still counts the extra attempts.
    const retryable = runner.specs[0]?.retry?.retryable;
    expect(retryable).toBeDefined();
    const failed = (stderr: string): CommandError =>
      new CommandError({
        tool: 'kubectl',
        args: [],
        exitCode: 1,
        signal: null,
        stdout: '',
        stderrTail: stderr,
        timedOut: false,
        cancelled: false,
      });
    const transient = failed(fixture('connection-refused'));
    const permanent = failed(fixture('forbidden'));
    expect(retryable?.(transient)).toBe(true);
    expect(retryable?.(permanent)).toBe(false);
    expect(kubectl.calls).toBe(3);
  });

  it('does not retry writes that are not idempotent', async () => {
    const { runner, kubectl } = setup([{ stdout: '' }, { stdout: '' }], { retry: { attempts: 3 } });
    await kubectl.rolloutUndo({ kind: 'Deployment', name: 'web', namespace: 'prod' });
    await kubectl.rolloutUndo({ kind: 'Deployment', name: 'web', namespace: 'prod' }, { toRevision: 1 });
    expect(runner.specs.map((s) => s.retry)).toEqual([undefined, undefined]);
  });
});

describe('Kubectl results and failures', () => {
  it('surfaces kubectl’s own message and the reason', async () => {
    const { kubectl } = setup([{ exitCode: 1, stderr: fixture('stale-rv') }]);
    const error = await kubectl
      .rolloutUndo({ kind: 'Deployment', name: 'web', namespace: 'prod' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubectlError);
    const e = error as KubectlError;
    expect(e.reason).toBe('Conflict');
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe(
      'kubectl rollout undo deployments.apps/web --namespace=prod failed (exit code 1): Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('never shows a registered secret in the message of a failed call', async () => {
    const logger = new MemoryLogger();
    logger.setSecret('s3cr3t-token');
    const runner = new FakeRunner([{ exitCode: 1, stderr: fixture('invalid') }]);
    const kubectl = new Kubectl({
      runner,
      logger,
      cacheDir: mkdtempSync(join(tmpdir(), 'kube-')),
      retry: { attempts: 1 },
    });
    const error = (await kubectl
      .kustomize('/work/s3cr3t-token/overlay')
      .catch((e: unknown) => e)) as KubectlError;
    expect(error.reason).toBe('Invalid');
    expect(error.message).toContain('kubectl kustomize /work/***/overlay failed');
    expect(error.message).not.toContain('s3cr3t-token');
  });

  it('canI: exit 1 with "no" is an answer, exit 1 without it is an error', async () => {
    const { kubectl } = setup([
      { stdout: 'no\n', exitCode: 1 },
      { stdout: 'yes\n' },
      { exitCode: 1, stderr: fixture('connection-refused') },
    ]);
    await expect(kubectl.canI('delete', 'deployments.apps', { namespace: 'prod' })).resolves.toBe(false);
    await expect(kubectl.canI('get', 'services', { namespace: 'prod' })).resolves.toBe(true);
    await expect(kubectl.canI('get', 'services', { namespace: 'prod' })).rejects.toMatchObject({
      reason: 'Unreachable',
    });
  });

  it('canIAll returns only the denied checks, in input order', async () => {
    const { runner, kubectl } = setup([]);
    const denied = new Set(['patch services', 'create leases.coordination.k8s.io']);
    runner.run = (spec) => {
      runner.specs.push(spec);
      const [, , verb, resource] = spec.args;
      const no = denied.has(`${verb ?? ''} ${resource ?? ''}`);
      return Promise.resolve({
        exitCode: no ? 1 : 0,
        stdout: no ? 'no\n' : 'yes\n',
        stderr: '',
        stdoutTruncated: false,
        durationMs: 1,
        attempts: 1,
      });
    };
    const checks = [
      { verb: 'get', resource: 'deployments.apps', namespace: 'prod' },
      { verb: 'patch', resource: 'services', namespace: 'prod' },
      { verb: 'get', resource: 'services', namespace: 'prod' },
      { verb: 'create', resource: 'leases.coordination.k8s.io', namespace: 'prod' },
      { verb: 'update', resource: 'leases.coordination.k8s.io', namespace: 'prod' },
    ];
    await expect(kubectl.canIAll(checks)).resolves.toEqual([checks[1], checks[3]]);
    expect(runner.specs).toHaveLength(5);
  });

  it('diffServerSide: exit 0 unchanged, exit 1 with a diff changed, exit 1 with only an error fails', async () => {
    const { kubectl } = setup([
      { exitCode: 0 },
      {
        exitCode: 1,
        stdout:
          'diff -u -N /tmp/LIVE/apps.v1.Deployment.prod.web /tmp/MERGED/...\n-  replicas: 2\n+  replicas: 3\n',
      },
      { exitCode: 1, stderr: fixture('forbidden') },
      { exitCode: 2, stderr: 'error: executable file not found in $PATH' },
    ]);
    await expect(kubectl.diffServerSide([deployment])).resolves.toEqual({ changed: false, diff: '' });
    await expect(kubectl.diffServerSide([deployment])).resolves.toMatchObject({ changed: true });
    await expect(kubectl.diffServerSide([deployment])).rejects.toMatchObject({ reason: 'Forbidden' });
    await expect(kubectl.diffServerSide([deployment])).rejects.toMatchObject({ exitCode: 2 });
  });

  it('version without a server reports the client only', async () => {
    const { kubectl } = setup([
      {
        exitCode: 1,
        stdout: JSON.stringify({ clientVersion: { gitVersion: 'v1.32.3' } }),
        stderr: fixture('raw-connection-refused'),
      },
      {
        stdout: JSON.stringify({
          clientVersion: { gitVersion: 'v1.32.3' },
          serverVersion: { gitVersion: 'v1.32.1' },
        }),
      },
    ]);
    await expect(kubectl.version()).resolves.toEqual({ client: 'v1.32.3' });
    await expect(kubectl.version()).resolves.toEqual({ client: 'v1.32.3', server: 'v1.32.1' });
  });

  it('getRaw maps failures to HTTP statuses and keeps the body', async () => {
    const { kubectl } = setup([
      { stdout: 'all good', stderr: fixture('raw-ok') },
      { exitCode: 1, stderr: fixture('raw-500') },
      { exitCode: 1, stderr: fixture('raw-status503') },
      { exitCode: 1, stderr: fixture('raw-connection-refused') },
    ]);
    await expect(kubectl.getRaw('/ok')).resolves.toEqual({ ok: true, status: 200, body: 'all good' });
    await expect(kubectl.getRaw('/500')).resolves.toEqual({
      ok: false,
      status: 500,
      body: 'plain body 500',
      reason: 'InternalError',
    });
    await expect(kubectl.getRaw('/503')).resolves.toEqual({
      ok: false,
      status: 503,
      body: 'no endpoints available for service "web"',
      reason: 'ServiceUnavailable',
    });
    await expect(kubectl.getRaw('/down')).resolves.toMatchObject({ ok: false, reason: 'Unreachable' });
  });

  it('rolloutHistory parses the revisions', async () => {
    const { kubectl } = setup([
      {
        stdout:
          'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n3         image bump\n2         <none>\n\n',
      },
    ]);
    await expect(
      kubectl.rolloutHistory({ kind: 'Deployment', name: 'web', namespace: 'p' }),
    ).resolves.toEqual([
      { revision: 1, changeCause: undefined },
      { revision: 2, changeCause: undefined },
      { revision: 3, changeCause: 'image bump' },
    ]);
  });

  it('a missing kubectl is NotInstalled with a hint', async () => {
    const runner = new FakeRunner();
    runner.run = (spec) =>
      Promise.reject(
        new CommandError({
          tool: spec.tool,
          args: spec.args,
          exitCode: null,
          signal: null,
          stdout: '',
          stderrTail: '',
          timedOut: false,
          cancelled: false,
          spawnError: 'kubectl was not found on PATH',
        }),
      );
    const kubectl = new Kubectl({
      runner,
      logger: new MemoryLogger(),
      cacheDir: mkdtempSync(join(tmpdir(), 'kube-')),
      retry: { attempts: 1 },
    });
    const error = (await kubectl.version().catch((e: unknown) => e)) as KubectlError;
    expect(error.reason).toBe('NotInstalled');
    expect(error.describe()).toContain('Install kubectl');
  });
});
