import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FetchHttpClient } from '@dreamscape/core';
import {
  buildahStorage,
  ensureBaseImage,
  freePort,
  requireTool,
  runActionBundle,
  startRegistry,
  type ActionRunResult,
  type BuildahStorageEnv,
  type RunningRegistry,
} from '@dreamscape/testkit';

const actionDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(actionDir, '..');
const pushEvent = JSON.parse(
  readFileSync(join(repoRoot, 'packages/image/__tests__/fixtures/events/push-branch.json'), 'utf8'),
) as { after: string; repository: { full_name: string } };

const USER = 'ci-bot';
const PASSWORD = 'pa55-Word-7f3c91e2';
const NPM_TOKEN = 'npm_SeCrEt_token_value_4411';
const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json';

let storage: BuildahStorageEnv;
let baseImage: string;

function githubEnv(): Record<string, string> {
  return {
    GITHUB_WORKSPACE: repoRoot,
    GITHUB_REPOSITORY: pushEvent.repository.full_name,
    GITHUB_SHA: pushEvent.after,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_RUN_ID: '9001',
    GITHUB_ACTOR: 'octocat',
    ...storage.env,
  };
}

function gatewayInputs(
  registry: RunningRegistry,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    image: `${registry.host}/dreamscape/gateway`,
    context: 'examples/dreamscape/services/gateway',
    target: 'runtime',
    'build-args': `BASE_IMAGE=${baseImage}\nVERSION=1.4.0`,
    secrets: `npm_token=${NPM_TOKEN}`,
    tags: 'type=branch\ntype=sha\ntype=raw,value=stable',
    builder: 'buildah',
    push: 'true',
    username: USER,
    password: PASSWORD,
    ...extra,
  };
}

async function registryDigest(
  registry: RunningRegistry,
  repo: string,
  tag: string,
  auth?: string,
): Promise<string> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_ACCEPT, ...(auth === undefined ? {} : { Authorization: auth }) },
  });
  expect(res.status).toBe(200);
  return res.headers.get('docker-content-digest') ?? '';
}

/** Everything the action left in its runner directory, for secret searches. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

function assertNoLeak(result: ActionRunResult, secrets: readonly string[]): void {
  // `::add-mask::` lines are how the runner learns what to mask; it never displays them.
  const shown = result.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  const everything = [
    shown,
    result.stderr,
    result.summary,
    JSON.stringify(result.outputs),
    ...filesUnder(result.dir).map((f) => readFileSync(f, 'utf8')),
  ].join('\n');
  for (const s of secrets) expect(everything).not.toContain(s);
}

beforeAll(async () => {
  requireTool('buildah');
  storage = buildahStorage(mkdtempSync(join(tmpdir(), 'ds-action-build-')));
  baseImage = await ensureBaseImage({ root: storage.root, runroot: storage.runroot, storageDriver: 'vfs' });
}, 120_000);

describe('action-build, run as the runner runs it', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: { mode: 'htpasswd', users: { [USER]: PASSWORD } } });
  });
  afterAll(async () => {
    await registry.close();
  });

  it('builds the multi-stage example, pushes every tag and reports the digest the registry holds', async () => {
    const result = await runActionBundle(actionDir, {
      inputs: gatewayInputs(registry),
      env: githubEnv(),
      event: { name: 'push', payload: pushEvent },
      timeoutMs: 240_000,
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);

    const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    const repo = 'dreamscape/gateway';
    const short = pushEvent.after.slice(0, 7);
    const tags = JSON.parse(result.outputs.tags ?? '[]') as string[];
    expect(tags).toEqual([
      `${registry.host}/${repo}:main`,
      `${registry.host}/${repo}:stable`,
      `${registry.host}/${repo}:sha-${short}`,
    ]);
    const held = await registryDigest(registry, repo, 'main', basic);
    expect(result.outputs.digest).toBe(held);
    expect(await registryDigest(registry, repo, `sha-${short}`, basic)).toBe(held);
    expect(result.outputs.image).toBe(`${registry.host}/${repo}@${held}`);

    const labels = JSON.parse(result.outputs.labels ?? '{}') as Record<string, string>;
    expect(labels['org.opencontainers.image.revision']).toBe(pushEvent.after);
    expect(labels['org.opencontainers.image.source']).toBe(
      `https://github.com/${pushEvent.repository.full_name}`,
    );
    expect(labels['org.opencontainers.image.version']).toBe('main');
    expect(labels['org.opencontainers.image.title']).toBe('gateway');

    const record = JSON.parse(result.outputs.metadata ?? '{}') as Record<string, unknown>;
    expect(record).toMatchObject({
      image: result.outputs.image,
      digest: held,
      tags,
      builder: 'buildah',
      revision: pushEvent.after,
    });

    // The labels really are in the pushed image's config.
    const manifest = (await (
      await fetch(`${registry.url}/v2/${repo}/manifests/${held}`, {
        headers: { Accept: MANIFEST_ACCEPT, Authorization: basic },
      })
    ).json()) as { config: { digest: string } };
    const config = (await (
      await fetch(`${registry.url}/v2/${repo}/blobs/${manifest.config.digest}`, {
        headers: { Authorization: basic },
      })
    ).json()) as { config: { Labels: Record<string, string> } };
    expect(config.config.Labels['org.opencontainers.image.revision']).toBe(pushEvent.after);

    expect(result.summary).toContain(held);
    expect(result.summary).toContain('buildah');
    expect(result.summary).toContain(`${registry.host}/${repo}:stable`);
    // The build secret reached the build (the Dockerfile prints its length) ...
    expect(result.stdout).toContain(`npm_token secret: provided (${NPM_TOKEN.length} bytes)`);
    // ... and neither it nor the password appears anywhere the action wrote.
    assertNoLeak(result, [PASSWORD, NPM_TOKEN]);
  }, 300_000);

  it('reuses the image when nothing changed: same digest, no build, the new tag added by manifest copy', async () => {
    const inputs = gatewayInputs(registry, {
      image: `${registry.host}/dreamscape/user`,
      context: 'examples/dreamscape/services/user',
      tags: 'type=raw,value=one',
    });
    const first = await runActionBundle(actionDir, {
      inputs,
      env: githubEnv(),
      event: { name: 'push', payload: pushEvent },
      timeoutMs: 240_000,
    });
    expect(first.errors).toEqual([]);
    expect(first.stdout).toMatch(/STEP \d/);
    const again = await runActionBundle(actionDir, {
      inputs: { ...inputs, tags: 'type=raw,value=one\ntype=raw,value=two' },
      env: githubEnv(),
      event: { name: 'push', payload: pushEvent },
    });
    expect(again.errors).toEqual([]);
    expect(again.stdout).not.toMatch(/STEP \d/);
    expect(again.stdout).toContain('not rebuilding');
    expect(again.outputs.digest).toBe(first.outputs.digest);
    const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    expect(await registryDigest(registry, 'dreamscape/user', 'two', basic)).toBe(first.outputs.digest);
    // A changed build argument is a different build.
    const changed = await runActionBundle(actionDir, {
      inputs: { ...inputs, 'build-args': `BASE_IMAGE=${baseImage}\nVERSION=9.9.9` },
      env: githubEnv(),
      event: { name: 'push', payload: pushEvent },
      timeoutMs: 240_000,
    });
    expect(changed.stdout).toMatch(/STEP \d/);
    expect(changed.outputs.digest).not.toBe(first.outputs.digest);
  }, 600_000);

  it('refuses wrong credentials before building, naming the registry, and pushes nothing', async () => {
    const result = await runActionBundle(actionDir, {
      inputs: gatewayInputs(registry, {
        image: `${registry.host}/dreamscape/wrong-creds`,
        password: 'not-the-password-123',
      }),
      env: githubEnv(),
      event: { name: 'push', payload: pushEvent },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(
      new RegExp(`${registry.host}.*(401|credentials|unauthorized)`, 'i'),
    );
    expect(result.stdout).not.toContain('STEP');
    assertNoLeak(result, ['not-the-password-123']);
    const catalog = await fetch(`${registry.url}/v2/_catalog`, {
      headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
    });
    expect(((await catalog.json()) as { repositories: string[] }).repositories).not.toContain(
      'dreamscape/wrong-creds',
    );
  }, 120_000);
});

describe('action-build against a token-auth registry (the GHCR flow)', () => {
  it('logs in with a Bearer token and verifies the pushed digest', async () => {
    const registry = await startRegistry({ auth: { mode: 'token', users: { [USER]: PASSWORD } } });
    try {
      const result = await runActionBundle(actionDir, {
        inputs: gatewayInputs(registry, {
          image: `${registry.host}/dreamscape/auth`,
          context: 'examples/dreamscape/services/auth',
          tags: 'type=sha',
        }),
        env: githubEnv(),
        event: { name: 'push', payload: pushEvent },
        timeoutMs: 240_000,
      });
      expect(result.errors).toEqual([]);
      expect(result.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(result.stdout).toContain(
        `sha-${pushEvent.after.slice(0, 7)} → ${result.outputs.digest ?? ''} ✓`,
      );
      // The registry really used Bearer tokens: the issuer saw requests with our user.
      expect(registry.tokenIssuer?.requests.some((r) => r.account === USER && r.status === 200)).toBe(true);
      assertNoLeak(result, [PASSWORD, NPM_TOKEN]);
    } finally {
      await registry.close();
    }
  }, 300_000);
});

describe('action-build bad inputs: a clear error naming the input, nothing built or pushed', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry.close();
  });

  const cases: [string, Record<string, string>, RegExp][] = [
    ['missing context', { context: 'examples/dreamscape/services/nope' }, /Input 'context'.*does not exist/],
    ['context outside the workspace', { context: '../..' }, /Input 'context'.*leads outside the workspace/],
    [
      'missing Dockerfile',
      { dockerfile: 'examples/dreamscape/services/gateway/Dockerfile.prod' },
      /Input 'dockerfile'.*does not exist/,
    ],
    ['unknown target', { target: 'debug' }, /debug.*(deps|runtime)/s],
    ['malformed build-arg', { 'build-args': 'VERSION' }, /Input 'build-args'.*no "=" after a key/],
    ['malformed secret', { secrets: 'not a secret line' }, /Input 'secrets'/],
    ['invalid image name', { image: 'ghcr.io/Bad Owner/app' }, /Input 'image'/],
    [
      'image with a tag',
      { image: 'ghcr.io/dreamscape/app:v1' },
      /Input 'image' must name a repository without a tag/,
    ],
    [
      'unknown builder',
      { builder: 'kaniko' },
      /Input 'builder' has an invalid value "kaniko". Accepted: 'auto', 'buildx', 'buildah'/,
    ],
    ['bad platform', { platforms: 'amd64' }, /Input 'platforms'/],
    ['bad tag rule', { tags: 'type=nightly' }, /Input 'tags'/],
  ];
  it.each(cases)(
    '%s',
    async (_name, inputs, expected) => {
      const result = await runActionBundle(actionDir, {
        inputs: {
          ...gatewayInputs(registry),
          image: `${registry.host}/dreamscape/bad`,
          username: '',
          password: '',
          ...inputs,
        },
        env: githubEnv(),
        event: { name: 'push', payload: pushEvent },
      });
      expect(result.exitCode).toBe(1);
      expect(result.errors.join('\n')).toMatch(expected);
      expect(result.outputs).toEqual({});
      expect(result.stdout).not.toMatch(/STEP \d/);
      const catalog = (await (await fetch(`${registry.url}/v2/_catalog`)).json()) as {
        repositories: string[];
      };
      expect(catalog.repositories).toEqual([]);
    },
    60_000,
  );

  it('gives up on an unreachable registry after bounded retries, before building', async () => {
    const port = await freePort();
    const result = await runActionBundle(actionDir, {
      inputs: {
        ...gatewayInputs(registry),
        image: `127.0.0.1:${port}/dreamscape/gateway`,
        username: '',
        password: '',
      },
      env: githubEnv(),
      event: { name: 'push', payload: pushEvent },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(
      new RegExp(`127\\.0\\.0\\.1:${port}.*(unreachable|could not be reached|attempts)`, 'i'),
    );
    expect(result.stdout).not.toMatch(/STEP \d/);
    // Bounded: every attempt is announced with the wait before it, and the waits add up to seconds
    // (read from the log, not timed, so a slow machine cannot fail it).
    const retries = [...result.stdout.matchAll(/retrying in (\d+)ms \(attempt (\d+) of (\d+)\)/g)];
    expect(retries.length).toBeGreaterThan(0);
    const attempts = Number(retries[0]?.[3]);
    expect(retries.map((m) => Number(m[2]))).toEqual(retries.map((_, i) => i + 2));
    expect(retries).toHaveLength(attempts - 1);
    expect(result.errors.join('\n')).toContain(`could not be reached after ${String(attempts)} attempts`);
    expect(retries.reduce((sum, m) => sum + Number(m[1]), 0)).toBeLessThan(30_000);
  }, 60_000);
});

describe("action-build push: auto on events that do not build the repository's own code", () => {
  let registry: RunningRegistry;
  let workspace: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: { mode: 'htpasswd', users: { [USER]: PASSWORD } } });
    workspace = mkdtempSync(join(tmpdir(), 'ds-build-auto-'));
    // Quick to build: no RUN step, only the base image and a label.
    writeFileSync(
      join(workspace, 'Dockerfile'),
      'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nLABEL stage=auto-push\n',
    );
  });
  afterAll(async () => {
    await registry.close();
  });

  it.each([
    [
      'pull_request_target',
      { action: 'opened', number: 5, pull_request: { number: 5, head: { sha: pushEvent.after } } },
    ],
    [
      'merge_group',
      {
        action: 'checks_requested',
        merge_group: { head_sha: pushEvent.after, head_ref: 'refs/heads/gh-readonly-queue/main/pr-5-abc' },
      },
    ],
    [
      'workflow_run',
      { action: 'completed', workflow_run: { head_sha: pushEvent.after, head_branch: 'feature' } },
    ],
  ])(
    'on %s it builds but does not push, and a notice says why, with the password in hand',
    async (event, payload) => {
      const result = await runActionBundle(actionDir, {
        inputs: {
          image: `${registry.host}/dreamscape/auto`,
          context: '.',
          'build-args': `BASE_IMAGE=${baseImage}`,
          tags: 'type=raw,value=candidate',
          builder: 'buildah',
          push: 'auto',
          username: USER,
          password: PASSWORD,
        },
        env: { ...githubEnv(), GITHUB_WORKSPACE: workspace },
        event: { name: event, payload },
        cwd: workspace,
        timeoutMs: 180_000,
      });
      expect(result.errors).toEqual([]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(
        `::notice::Not pushing: push is 'auto' and this is a ${event} event: the image is built but not pushed, because 'auto' pushes only on push, release, workflow_dispatch, schedule (the repository's own code). Set push: 'true' to push anyway.`,
      );
      // Built...
      expect(result.stdout).toMatch(/STEP \d/);
      // ... but the registry was never logged in to nor written.
      expect(result.stdout).not.toContain(`::group::Registry ${registry.host}`);
      const catalog = await fetch(`${registry.url}/v2/_catalog`, {
        headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
      });
      expect(((await catalog.json()) as { repositories: string[] }).repositories).toEqual([]);
      assertNoLeak(result, [PASSWORD]);
    },
    240_000,
  );
});

describe('action-build and a registry on this machine that speaks TLS (a self-hosted mirror)', () => {
  let registry: RunningRegistry;
  let workspace: string;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true, auth: { mode: 'htpasswd', users: { [USER]: PASSWORD } } });
    workspace = mkdtempSync(join(tmpdir(), 'ds-build-tls-'));
    writeFileSync(join(workspace, 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nLABEL stage=tls\n');
  });
  afterAll(async () => {
    await registry.close();
  });

  const inputs = (extra: Record<string, string> = {}): Record<string, string> => ({
    image: `${registry.host}/dreamscape/mirror`,
    context: '.',
    'build-args': `BASE_IMAGE=${baseImage}`,
    tags: 'type=raw,value=tls',
    builder: 'buildah',
    push: 'true',
    username: USER,
    password: PASSWORD,
    ...extra,
  });

  it('pushes over https when insecure-registries lists it, though its certificate cannot be checked', async () => {
    const result = await runActionBundle(actionDir, {
      inputs: inputs({ 'insecure-registries': registry.host }),
      env: { ...githubEnv(), GITHUB_WORKSPACE: workspace },
      event: { name: 'push', payload: pushEvent },
      cwd: workspace,
      timeoutMs: 180_000,
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    // Read back over https, this time checking the certificate against the registry's CA.
    const held = await new FetchHttpClient({ ca: readFileSync(registry.caCertPath ?? '', 'utf8') }).request({
      method: 'HEAD',
      url: `${registry.url}/v2/dreamscape/mirror/manifests/tls`,
      headers: {
        Accept: MANIFEST_ACCEPT,
        Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
      },
    });
    expect(held.status).toBe(200);
    expect(result.outputs.digest).toBe(held.headers['docker-content-digest']);
    assertNoLeak(result, [PASSWORD]);
  }, 240_000);

  it('without it, stops before building, says the certificate is not trusted and how to trust it, and never tries http', async () => {
    const result = await runActionBundle(actionDir, {
      inputs: inputs(),
      env: { ...githubEnv(), GITHUB_WORKSPACE: workspace },
      event: { name: 'push', payload: pushEvent },
      cwd: workspace,
    });
    expect(result.exitCode).toBe(1);
    const errors = result.errors.join('\n');
    expect(errors).toContain(
      `Registry ${registry.host} could not be reached after 1 attempt (GET https://${registry.host}/v2/)`,
    );
    expect(errors).toContain('unable to verify the first certificate');
    expect(result.stdout).toContain('NODE_EXTRA_CA_CERTS');
    expect(result.stdout).not.toContain(`http://${registry.host}`);
    expect(result.stdout).not.toMatch(/STEP \d/);
  }, 60_000);
});

describe("action-build and a base image from a registry on this machine without TLS (a runner's local mirror)", () => {
  let mirror: RunningRegistry;
  let workspace: string;
  beforeAll(async () => {
    mirror = await startRegistry({ auth: { mode: 'none' } });
    // The base image goes to the mirror over plain http, as a mirror on a self-hosted runner holds it.
    const buildah = requireTool('buildah');
    const pushed = await new Promise<number | null>((resolve) => {
      const child = spawn(
        buildah,
        [
          '--root',
          storage.root,
          '--runroot',
          storage.runroot,
          '--storage-driver',
          storage.storageDriver,
          'push',
          '--tls-verify=false',
          baseImage,
          `docker://${mirror.host}/library/base:1`,
        ],
        { stdio: 'ignore' },
      );
      child.on('close', resolve);
    });
    expect(pushed).toBe(0);
    workspace = mkdtempSync(join(tmpdir(), 'ds-build-mirror-'));
    writeFileSync(join(workspace, 'Dockerfile'), `FROM ${mirror.host}/library/base:1\nLABEL stage=mirror\n`);
  }, 120_000);
  afterAll(async () => {
    await mirror.close();
  });

  it('pulls the base image over plain http, as it pushes there, and builds', async () => {
    const result = await runActionBundle(actionDir, {
      inputs: {
        image: `${mirror.host}/dreamscape/from-mirror`,
        context: '.',
        tags: 'type=raw,value=mirror',
        builder: 'buildah',
        push: 'true',
      },
      env: { ...githubEnv(), GITHUB_WORKSPACE: workspace },
      event: { name: 'push', payload: pushEvent },
      cwd: workspace,
      timeoutMs: 180_000,
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      `Base images come from ${mirror.host} without TLS checks (plain http on a loopback address): the builder pulls them the same way.`,
    );
    expect(result.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const held = await fetch(`${mirror.url}/v2/dreamscape/from-mirror/manifests/mirror`, {
      method: 'HEAD',
      headers: { Accept: MANIFEST_ACCEPT },
    });
    expect(held.headers.get('docker-content-digest')).toBe(result.outputs.digest);
  }, 240_000);
});
