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
const service: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'prod' },
  spec: { selector: { app: 'web', 'dreamscape.io/color': 'blue' } },
};
const obj = JSON.stringify(deployment);

describe('Kubectl argv', () => {
  const cases: {
    name: string;
    call: (k: Kubectl) => Promise<unknown>;
    argv: string[];
    answer?: FakeAnswer;
    stdin?: string;
  }[] = [
    {
      name: 'applyServerSide sends every object in one call',
      call: (k) => k.applyServerSide([deployment, service]),
      argv: ['apply', '--server-side', '--field-manager=dreamscape', '-f', '-', '-o', 'json'],
      answer: { stdout: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: [deployment, service] }) },
      stdin: `${JSON.stringify(deployment)}\n${JSON.stringify(service)}\n`,
    },
    {
      name: 'applyServerSide dry run with forced conflicts and a namespace',
      call: (k) => k.applyServerSide([deployment], { dryRun: true, forceConflicts: true, namespace: 'prod' }),
      argv: [
        'apply',
        '--server-side',
        '--field-manager=dreamscape',
        '--force-conflicts',
        '--dry-run=server',
        '--namespace=prod',
        '-f',
        '-',
        '-o',
        'json',
      ],
      answer: { stdout: obj },
    },
    {
      name: 'get by kind maps to the group-qualified resource',
      call: (k) => k.get({ kind: 'Deployment', name: 'web-green', namespace: 'prod' }),
      argv: ['get', 'deployments.apps', 'web-green', '--namespace=prod', '--ignore-not-found', '-o', 'json'],
      answer: { stdout: obj },
    },
    {
      name: 'get of a Lease',
      call: (k) => k.get({ kind: 'Lease', name: 'deploy-web', namespace: 'prod' }),
      argv: [
        'get',
        'leases.coordination.k8s.io',
        'deploy-web',
        '--namespace=prod',
        '--ignore-not-found',
        '-o',
        'json',
      ],
      answer: { stdout: '' },
    },
    {
      name: 'list of a built-in resource reads the collection path with selectors',
      call: (k) =>
        k.list('Deployment', { namespace: 'prod', labelSelector: 'app=web,dreamscape.io/color in (blue)' }),
      argv: [
        'get',
        '--raw',
        '/apis/apps/v1/namespaces/prod/deployments?labelSelector=app%3Dweb%2Cdreamscape.io%2Fcolor+in+%28blue%29',
      ],
      answer: {
        stdout: JSON.stringify({ kind: 'DeploymentList', metadata: { resourceVersion: '42' }, items: [] }),
      },
    },
    {
      name: 'list of an unknown resource falls back to kubectl get',
      call: (k) => k.list('widgets.example.com', { namespace: 'prod', fieldSelector: 'metadata.name=a' }),
      argv: [
        'get',
        'widgets.example.com',
        '--namespace=prod',
        '--field-selector=metadata.name=a',
        '-o',
        'json',
      ],
      answer: { stdout: JSON.stringify({ kind: 'List', metadata: { resourceVersion: '' }, items: [] }) },
    },
    {
      name: 'JSON patch with a test precondition',
      call: (k) =>
        k.patch(
          { kind: 'Service', name: 'web', namespace: 'prod' },
          [
            { op: 'test', path: '/spec/selector/dreamscape.io~1color', value: 'blue' },
            { op: 'replace', path: '/spec/selector/dreamscape.io~1color', value: 'green' },
          ],
          { type: 'json' },
        ),
      argv: [
        'patch',
        'services',
        'web',
        '--namespace=prod',
        '--type=json',
        '--patch=[{"op":"test","path":"/spec/selector/dreamscape.io~1color","value":"blue"},{"op":"replace","path":"/spec/selector/dreamscape.io~1color","value":"green"}]',
        '--field-manager=dreamscape',
        '-o',
        'json',
      ],
      answer: { stdout: JSON.stringify(service) },
    },
    {
      name: 'merge patch of a subresource, dry run',
      call: (k) =>
        k.patch(
          { kind: 'Deployment', name: 'web-green', namespace: 'prod' },
          { spec: { replicas: 3 } },
          {
            type: 'merge',
            subresource: 'scale',
            dryRun: true,
          },
        ),
      argv: [
        'patch',
        'deployments.apps',
        'web-green',
        '--namespace=prod',
        '--type=merge',
        '--patch={"spec":{"replicas":3}}',
        '--field-manager=dreamscape',
        '--subresource=scale',
        '--dry-run=server',
        '-o',
        'json',
      ],
      answer: { stdout: obj },
    },
    {
      name: 'create reads the object from stdin',
      call: (k) => k.create(deployment),
      argv: ['create', '-f', '-', '--field-manager=dreamscape', '-o', 'json'],
      answer: { stdout: obj },
      stdin: `${obj}\n`,
    },
    {
      name: 'replace reads the object (with its resourceVersion) from stdin',
      call: (k) => k.replace({ ...deployment, metadata: { ...deployment.metadata, resourceVersion: '7' } }),
      argv: ['replace', '-f', '-', '--field-manager=dreamscape', '-o', 'json'],
      answer: { stdout: obj },
    },
    {
      name: 'delete with propagation, ignore-not-found, no wait',
      call: (k) =>
        k.delete(
          { kind: 'Deployment', name: 'web-blue', namespace: 'prod' },
          {
            propagation: 'foreground',
            ignoreNotFound: true,
          },
        ),
      argv: [
        'delete',
        'deployments.apps',
        'web-blue',
        '--namespace=prod',
        '--cascade=foreground',
        '--ignore-not-found',
        '--wait=false',
      ],
    },
    {
      name: 'scale with a resourceVersion precondition',
      call: (k) =>
        k.scale({ kind: 'Deployment', name: 'web-green', namespace: 'prod' }, 3, { resourceVersion: '99' }),
      argv: [
        'scale',
        'deployments.apps',
        'web-green',
        '--namespace=prod',
        '--replicas=3',
        '--resource-version=99',
      ],
    },
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
    await kubectl.get({ kind: 'Service', name: 'web', namespace: 'prod' });
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
    await kubectl.get({ kind: 'Service', name: 'web', namespace: 'prod' });
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
    await kubectl.get({ kind: 'Service', name: 'a', namespace: 'x' });
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
    const { runner, kubectl } = setup([{ stdout: obj }, { stdout: obj }], { retry: { attempts: 3 } });
    await kubectl.create(deployment);
    await kubectl.patch(
      { kind: 'Deployment', name: 'web-green', namespace: 'prod' },
      { spec: {} },
      { type: 'merge' },
    );
    expect(runner.specs.map((s) => s.retry)).toEqual([undefined, undefined]);
  });
});

describe('Kubectl results and failures', () => {
  it('get returns undefined for a missing object and the object otherwise', async () => {
    const { kubectl } = setup([{ stdout: '' }, { stdout: obj }]);
    await expect(
      kubectl.get({ kind: 'Deployment', name: 'nope', namespace: 'prod' }),
    ).resolves.toBeUndefined();
    await expect(kubectl.get({ kind: 'Deployment', name: 'web-green', namespace: 'prod' })).resolves.toEqual(
      deployment,
    );
  });

  it('applyServerSide returns the items of a List or the single object', async () => {
    const { kubectl } = setup([
      { stdout: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: [deployment, service] }) },
      { stdout: obj },
    ]);
    await expect(kubectl.applyServerSide([deployment, service])).resolves.toEqual([deployment, service]);
    await expect(kubectl.applyServerSide([deployment])).resolves.toEqual([deployment]);
  });

  it('applyServerSide of nothing runs nothing', async () => {
    const { runner, kubectl } = setup();
    await expect(kubectl.applyServerSide([])).resolves.toEqual([]);
    expect(runner.specs).toHaveLength(0);
  });

  it('list fills in kind and apiVersion that list items omit, and keeps the resourceVersion', async () => {
    const { kubectl } = setup([
      {
        stdout: JSON.stringify({
          kind: 'DeploymentList',
          apiVersion: 'apps/v1',
          metadata: { resourceVersion: '1007' },
          items: [{ metadata: { name: 'a', namespace: 'prod' } }],
        }),
      },
    ]);
    const list = await kubectl.list('deployments', { namespace: 'prod' });
    expect(list).toEqual({
      resourceVersion: '1007',
      items: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a', namespace: 'prod' } }],
    });
  });

  it('surfaces kubectl’s own message and the reason', async () => {
    const { kubectl } = setup([{ exitCode: 1, stderr: fixture('stale-rv') }]);
    const error = await kubectl.replace(deployment).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubectlError);
    const e = error as KubectlError;
    expect(e.reason).toBe('Conflict');
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe(
      'kubectl replace -f - --field-manager=dreamscape -o json failed (exit code 1): Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
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
      .patch(
        { kind: 'Secret', name: 'api', namespace: 'prod' },
        { stringData: { token: 's3cr3t-token' } },
        { type: 'merge' },
      )
      .catch((e: unknown) => e)) as KubectlError;
    expect(error.reason).toBe('Invalid');
    expect(error.message).toContain('--patch={"stringData":{"token":"***"}}');
    expect(error.message).not.toContain('s3cr3t-token');
  });

  it('a failed JSON-patch test comes back as PreconditionFailed', async () => {
    const { kubectl } = setup([{ exitCode: 1, stderr: fixture('json-patch-test-failed') }]);
    const error = (await kubectl
      .patch(
        { kind: 'Service', name: 'web', namespace: 'prod' },
        [{ op: 'test', path: '/spec/selector/dreamscape.io~1color', value: 'green' }],
        { type: 'json' },
      )
      .catch((e: unknown) => e)) as KubectlError;
    expect(error.reason).toBe('PreconditionFailed');
    expect(error.kubectlMessage).toContain('test failed');
  });

  it('an invalid patch without a test operation stays Invalid', async () => {
    const { kubectl } = setup([{ exitCode: 1, stderr: fixture('invalid') }]);
    const error = (await kubectl
      .patch(
        { kind: 'Deployment', name: 'invalid', namespace: 'prod' },
        [{ op: 'replace', path: '/spec/selector', value: {} }],
        { type: 'json' },
      )
      .catch((e: unknown) => e)) as KubectlError;
    expect(error.reason).toBe('Invalid');
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

  it('refuses to scale to a negative or fractional count without running kubectl', async () => {
    const { runner, kubectl } = setup();
    await expect(kubectl.scale({ kind: 'Deployment', name: 'a', namespace: 'p' }, -1)).rejects.toThrow(
      /whole number/,
    );
    await expect(kubectl.scale({ kind: 'Deployment', name: 'a', namespace: 'p' }, 1.5)).rejects.toThrow(
      /whole number/,
    );
    expect(runner.specs).toHaveLength(0);
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
