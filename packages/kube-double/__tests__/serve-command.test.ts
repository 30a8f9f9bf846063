import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseServeArguments } from '../src/serve-command.js';
import { deployment, failed, ok, service, yaml } from './support/manifests.js';
import { runKubectl } from '@dreamscape/testkit';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface Running {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly ready: Promise<{ url: string; kubeconfig: string }>;
  readonly exit: Promise<number | null>;
  /** Resolves when every process holding the output pipes (npx and the double) is gone. */
  readonly closed: Promise<void>;
  output(): string;
}

/** `npx kube-double serve ...` from the repository root (or the bin itself, with `direct`). */
function serve(args: readonly string[], direct = false): Running {
  const command = direct ? process.execPath : 'npx';
  const prefix = direct
    ? [join(repositoryRoot, 'node_modules/.bin/kube-double')]
    : ['--no-install', 'kube-double'];
  const child = spawn(command, [...prefix, 'serve', ...args], {
    cwd: repositoryRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const ready = new Promise<{ url: string; kubeconfig: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined)
        resolve(JSON.parse(line) as { url: string; kubeconfig: string });
    });
    child.on('exit', (code) => {
      reject(new Error(`kube-double exited ${String(code)} before it was ready:\n${stdout}\n${stderr}`));
    });
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
  });
  const closed = new Promise<void>((resolve) => {
    child.on('close', () => {
      resolve();
    });
  });
  return { child, ready, exit, closed, output: () => `${stdout}\n${stderr}` };
}

describe('npx kube-double serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-double-serve-'));
  const kubeconfig = join(dir, 'kubeconfig');
  let running: Running;
  let url: string;

  beforeAll(async () => {
    writeFileSync(
      join(dir, 'behaviours.yaml'),
      [
        '- image: "*:broken"',
        '  ready: never',
        '- image: "*"',
        '  ready: 2s',
        '  http:',
        '    /version: { status: 200, body: "v1" }',
        '',
      ].join('\n'),
    );
    running = serve([
      '--kubeconfig',
      kubeconfig,
      '--behaviours',
      join(dir, 'behaviours.yaml'),
      '--time-scale',
      '20',
      '--seed',
      '3',
    ]);
    const line = await running.ready;
    url = line.url;
    expect(line.kubeconfig).toBe(kubeconfig);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  }, 60_000);

  afterAll(async () => {
    if (running.child.exitCode === null) running.child.kill('SIGTERM');
    await running.closed;
  });

  it('serves kubectl through the kubeconfig it wrote, with the behaviours file in force', async () => {
    const k = (args: readonly string[], stdin?: string) =>
      runKubectl(args, { kubeconfig, ...(stdin === undefined ? {} : { stdin }) });
    expect(ok(await k(['get', 'ns', '-o', 'name']))).toContain('namespace/default');
    ok(
      await k(
        ['apply', '--server-side', '-f', '-'],
        yaml(deployment('app', 'app:1', { replicas: 1 }), service('app', { app: 'app' })),
      ),
    );
    ok(await k(['rollout', 'status', 'deploy/app', '--timeout=30s']));
    expect(ok(await k(['get', '--raw', '/api/v1/namespaces/default/services/app:http/proxy/version']))).toBe(
      'v1',
    );
  });

  it('answers the inspection endpoints', async () => {
    expect(await (await fetch(`${url}/_double/violations`)).json()).toEqual([]);
    const requests = (await (await fetch(`${url}/_double/requests`)).json()) as {
      method: string;
      path: string;
      userAgent: string;
    }[];
    expect(
      requests.some(
        (r) => r.method === 'PATCH' && r.path.startsWith('/apis/apps/v1/namespaces/default/deployments/app?'),
      ),
    ).toBe(true);
    expect(requests.every((r) => !r.path.startsWith('/_double'))).toBe(true);
    const writes = (await (await fetch(`${url}/_double/writes`)).json()) as {
      verb: string;
      kind: string;
      name: string;
      fieldManager: string;
      dryRun: boolean;
    }[];
    expect(writes).toContainEqual(
      expect.objectContaining({
        verb: 'apply',
        kind: 'Deployment',
        name: 'app',
        fieldManager: 'kubectl',
        dryRun: false,
      }),
    );
  });

  it('replaces behaviours and faults over HTTP, and refuses bad documents with 400', async () => {
    const behaviours = await fetch(`${url}/_double/behaviours`, {
      method: 'POST',
      body: JSON.stringify([{ image: 'app:*', http: { '/version': { status: 200, body: 'v2' } } }]),
    });
    expect(behaviours.status).toBe(200);
    expect(
      ok(
        await runKubectl(['get', '--raw', '/api/v1/namespaces/default/services/app:http/proxy/version'], {
          kubeconfig,
        }),
      ),
    ).toBe('v2');

    const faults = await fetch(`${url}/_double/faults`, {
      method: 'POST',
      body: JSON.stringify({ seed: 5, rules: [{ verbs: ['list'], resources: ['namespaces'], error: 503 }] }),
    });
    expect(faults.status).toBe(200);
    expect(failed(await runKubectl(['get', 'ns'], { kubeconfig }))).toContain(
      'Error from server (ServiceUnavailable)',
    );
    await fetch(`${url}/_double/faults`, { method: 'POST', body: '[]' });
    ok(await runKubectl(['get', 'ns'], { kubeconfig }));

    const bad = await fetch(`${url}/_double/behaviours`, {
      method: 'POST',
      body: JSON.stringify([{ image: 'x', ready: 'soon' }]),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('entry 0.ready');
  });

  it('stops when npx is terminated (npx does not pass the signal on)', async () => {
    running.child.kill('SIGTERM');
    await running.closed;
    await expect(fetch(`${url}/version`)).rejects.toThrow();
  });
});

describe('the kube-double bin', () => {
  it('stops on SIGTERM with exit code 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-double-bin-'));
    const running = serve(['--kubeconfig', join(dir, 'kubeconfig')], true);
    const { url } = await running.ready;
    expect((await fetch(`${url}/version`)).status).toBe(200);
    running.child.kill('SIGTERM');
    expect(await running.exit).toBe(0);
    await running.closed;
  }, 60_000);
});

describe('kube-double serve arguments', () => {
  it('parses every option', () => {
    expect(
      parseServeArguments([
        'serve',
        '--kubeconfig',
        'k',
        '--port=6443',
        '--time-scale',
        '60',
        '--seed',
        '9',
        '--monitor-exclude',
        '*-preview',
        '--monitor-exclude',
        'x',
        '--nodes',
        '5',
      ]),
    ).toMatchObject({
      port: 6443,
      timeScale: 60,
      seed: 9,
      namespace: 'default',
      monitorExclude: ['*-preview', 'x'],
      nodes: 5,
    });
    expect(parseServeArguments(['serve', '--kubeconfig', 'k']).nodes).toBe(3);
  });

  it.each([
    [[], 'usage: kube-double serve'],
    [['serve'], '--kubeconfig is required'],
    [['serve', '--kubeconfig', 'k', '--time-scale', '0'], '--time-scale: invalid value "0"'],
    [['serve', '--kubeconfig', 'k', '--colour', 'blue'], 'unknown option --colour'],
    [['serve', '--kubeconfig', 'k', '--nodes', '0'], '--nodes: invalid value "0"'],
    [['start'], 'unknown command "start"'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseServeArguments(argv)).toThrow(message);
  });

  it('exits 2 with the usage when the arguments are wrong', async () => {
    const child = spawn(
      process.execPath,
      [join(repositoryRoot, 'packages/kube-double/bin/kube-double.js'), 'serve'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('--kubeconfig is required');
  });
});
