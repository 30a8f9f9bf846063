import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildahStorage,
  buildRecords,
  deploy,
  ensureBaseImage,
  findSecretLeaks,
  repoRoot,
  requireTool,
  rollback,
  runActionBundle,
  startCluster,
  startGitHubApi,
  startRegistry,
  writeStandInScanner,
  type ActionRunResult,
  type ExampleCluster,
  type GitHubApiServer,
} from '@dreamscape/testkit';
import { CHAIN_OVERLAY, CHAIN_SERVICES, newPart, renderSummary, tallyDir, writePart } from '../src/index.js';

const USER = 'ci-robot';
const REGISTRY_PASSWORD = 'Reg1stry-pa55-9b7e4c21d0';
const BUILD_SECRET = 'npm_B1ld-s3cret-5f0a77e2c4';
const GITHUB_TOKEN = 'ghs_H1gh3n3-t0ken-3d9c5e8a7b61f204';
const SCAN_PASSWORD = 'pull-S3cret-0c4e1b9d7a';

const part = newPart('secret hygiene');
const started = Date.now();

/**
 * Judges one run: the secrets must appear nowhere it showed or left behind (its directory with
 * RUNNER_TEMP and the command files, its HOME, and `extraDirs`), and the cluster must hold none.
 */
function leaksOf(
  label: string,
  r: ActionRunResult,
  secrets: Record<string, string>,
  extraDirs: readonly string[],
  cluster?: ExampleCluster,
): string[] {
  const leaks = findSecretLeaks(r, secrets, extraDirs).map(
    (l) => `${label}: ${l.secret} (${l.form}) in ${l.where}: …${l.context}…`,
  );
  if (cluster !== undefined) {
    const everything = JSON.stringify(
      ['secrets', 'configmaps', 'deployments', 'services', 'leases', 'events'].map((k) =>
        cluster.double.objects(k),
      ),
    );
    for (const [name, value] of Object.entries(secrets))
      if (
        everything.includes(value) ||
        everything.includes(Buffer.from(value).toString('base64').replace(/=+$/, ''))
      )
        leaks.push(`${label}: ${name} stored in the cluster`);
  }
  part.runs++;
  part.leaks += leaks.length;
  part.failures.push(...leaks);
  return leaks;
}

/** A HOME and XDG_RUNTIME_DIR of its own, so a credential a tool stores there is found. */
function privateHome(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'ds-home-'));
  mkdirSync(join(dir, 'run'));
  return { dir, env: { HOME: dir, XDG_RUNTIME_DIR: join(dir, 'run') } };
}

afterAll(() => {
  part.durationMs = Date.now() - started;
  writePart(tallyDir(repoRoot), part);
  process.stdout.write(`${renderSummary([part])}\n`);
});

describe('secret hygiene: known credentials never appear in logs, outputs, summaries or files left behind', () => {
  it('action-build with a registry password and a build secret, pushing to a real htpasswd registry', async () => {
    requireTool('buildah');
    const storage = buildahStorage(mkdtempSync(join(tmpdir(), 'ds-hygiene-buildah-')));
    const base = await ensureBaseImage({
      root: storage.root,
      runroot: storage.runroot,
      storageDriver: 'vfs',
    });
    const registry = await startRegistry({
      auth: { mode: 'htpasswd', users: { [USER]: REGISTRY_PASSWORD } },
    });
    const home = privateHome();
    try {
      const r = await runActionBundle(join(repoRoot, 'action-build'), {
        inputs: {
          image: `${registry.host}/dreamscape/gateway`,
          context: 'examples/dreamscape/services/gateway',
          target: 'runtime',
          'build-args': `BASE_IMAGE=${base}\nVERSION=1.0.0`,
          secrets: `npm_token=${BUILD_SECRET}`,
          tags: 'type=raw,value=hygiene',
          builder: 'buildah',
          push: 'true',
          username: USER,
          password: REGISTRY_PASSWORD,
        },
        env: {
          GITHUB_WORKSPACE: repoRoot,
          GITHUB_REPOSITORY: 'dreamscape/platform',
          GITHUB_SHA: 'c0ffee0000000000000000000000000000000000',
          GITHUB_REF: 'refs/heads/main',
          GITHUB_ACTOR: 'octocat',
          ...storage.env,
          ...home.env,
        },
        event: { name: 'push', payload: { ref: 'refs/heads/main' } },
        timeoutMs: 300_000,
      });
      expect(r.errors).toEqual([]);
      // The credentials were used: the image is in the registry, and the secret reached the build.
      expect(r.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(r.stdout).toContain(`npm_token secret: provided (${BUILD_SECRET.length} bytes)`);
      expect(r.stdout).toContain(`::add-mask::${REGISTRY_PASSWORD}`);
      const leaks = leaksOf(
        'action-build',
        r,
        {
          password: REGISTRY_PASSWORD,
          'user:password': `${USER}:${REGISTRY_PASSWORD}`,
          'build secret': BUILD_SECRET,
        },
        [home.dir, storage.root, storage.runroot],
      );
      expect(leaks).toEqual([]);
      rmSync(r.dir, { recursive: true, force: true });
    } finally {
      await registry.close();
      rmSync(home.dir, { recursive: true, force: true });
    }
  }, 400_000);

  describe('with a GitHub token against a stand-in GitHub API', () => {
    let github: GitHubApiServer;
    let cluster: ExampleCluster;
    const statuses: unknown[] = [];
    beforeAll(async () => {
      github = await startGitHubApi({ token: GITHUB_TOKEN });
      github.route('POST', '/repos/:owner/:repo/deployments', () => ({ status: 201, body: { id: 42 } }));
      github.route('POST', '/repos/:owner/:repo/deployments/:id/statuses', ({ request }) => {
        statuses.push(request.body);
        return { status: 201, body: { id: statuses.length } };
      });
      cluster = await startCluster([{ image: '*', ready: '200ms' }]);
    });
    afterAll(async () => {
      await github.close();
      await cluster.double.close();
    });

    function authorized(): number {
      return github.requests.filter(
        (q) =>
          q.headers.authorization === `Bearer ${GITHUB_TOKEN}` ||
          q.headers.authorization === `token ${GITHUB_TOKEN}`,
      ).length;
    }

    it('action-deploy and action-rollback record GitHub deployments without showing the token', async () => {
      for (const version of ['v1', 'v2']) {
        const home = privateHome();
        const used = authorized();
        const r = await deploy(
          cluster,
          {
            overlay: CHAIN_OVERLAY,
            images: buildRecords(version, CHAIN_SERVICES),
            'verify-window': '0s',
            'github-token': GITHUB_TOKEN,
          },
          { env: { GITHUB_API_URL: github.url, ...home.env } },
        );
        expect(r.errors).toEqual([]);
        expect(r.outputs.result).toBe('promoted');
        expect(authorized()).toBeGreaterThan(used);
        expect(
          leaksOf(`action-deploy ${version}`, r, { 'GitHub token': GITHUB_TOKEN }, [home.dir], cluster),
        ).toEqual([]);
        rmSync(r.dir, { recursive: true, force: true });
        rmSync(home.dir, { recursive: true, force: true });
      }
      const home = privateHome();
      const used = authorized();
      const back = await rollback(
        cluster,
        { 'github-token': GITHUB_TOKEN, reason: 'hygiene check', 'verify-window': '0s' },
        { env: { GITHUB_API_URL: github.url, ...home.env } },
      );
      expect(back.errors).toEqual([]);
      expect(back.outputs.result).toBe('rolled-back');
      expect(authorized()).toBeGreaterThan(used);
      expect(leaksOf('action-rollback', back, { 'GitHub token': GITHUB_TOKEN }, [home.dir], cluster)).toEqual(
        [],
      );
      expect(statuses.length).toBeGreaterThanOrEqual(6);
      rmSync(back.dir, { recursive: true, force: true });
      rmSync(home.dir, { recursive: true, force: true });
    }, 300_000);

    it('action-scan comments on the pull request and scans a private image without showing either credential', async () => {
      const scanner = writeStandInScanner({
        name: 'trivy',
        version: '0.74.0',
        report: 'trivy-image-debian-buster.json',
      });
      const workspace = mkdtempSync(join(tmpdir(), 'ds-hygiene-scan-'));
      const home = privateHome();
      const used = authorized();
      const r = await runActionBundle(join(repoRoot, 'action-scan'), {
        inputs: {
          image: `ghcr.io/dreamscape/auth@sha256:${'f'.repeat(64)}`,
          'severity-threshold': 'none',
          'github-token': GITHUB_TOKEN,
          'registry-username': USER,
          'registry-password': SCAN_PASSWORD,
          // The image is in no registry this machine reaches (the stand-in scanner only replays a
          // report): its verdict has nowhere to go. Attaching is checked against a real registry in
          // action-scan/__tests__/verdict.test.ts, credentials included.
          'attach-verdict': 'false',
        },
        env: {
          PATH: `${scanner.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
          GITHUB_WORKSPACE: workspace,
          RUNNER_TOOL_CACHE: join(workspace, 'tool-cache'),
          GITHUB_REPOSITORY: 'dreamscape/platform',
          GITHUB_API_URL: github.url,
          ...home.env,
        },
        event: {
          name: 'pull_request',
          payload: { action: 'synchronize', number: 9, pull_request: { number: 9 } },
        },
        cwd: workspace,
      });
      expect(r.errors).toEqual([]);
      expect(authorized()).toBeGreaterThan(used);
      expect(github.comments('dreamscape', 'platform', 9)).toHaveLength(1);
      // The scanner was given the registry credentials (through its environment).
      expect(scanner.calls().at(-1)?.env).toMatchObject({ TRIVY_PASSWORD: SCAN_PASSWORD });
      expect(
        leaksOf('action-scan', r, { 'GitHub token': GITHUB_TOKEN, 'registry password': SCAN_PASSWORD }, [
          home.dir,
          workspace,
        ]),
      ).toEqual([]);
      rmSync(r.dir, { recursive: true, force: true });
      rmSync(home.dir, { recursive: true, force: true });
    }, 120_000);
  });
});
