import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  pushTestImage,
  runActionBundle,
  startRegistry,
  writeStandInScanner,
  type ActionRunResult,
  type RunningRegistry,
} from '@dreamscape/testkit';

const actionDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(actionDir, '..');
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ARTIFACT_TYPE = 'application/vnd.dreamscape.scan-verdict.v1+json';
const CI = { username: 'ci', password: 'ci-push-secret-71d3' };
const WRITER = { username: 'writer', password: 'writer-secret-5a90' };
const READER = { username: 'reader', password: 'reader-secret-c42e' };

interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface ReadBack {
  readonly none?: true;
  readonly referrer?: string;
  readonly verdict?: {
    readonly image: string;
    readonly result: string;
    readonly policy: { readonly threshold: string; readonly ignoreUnfixed: boolean; readonly failOn: string };
    readonly counts: { readonly before: Record<string, number>; readonly after: Record<string, number> };
    readonly findings: readonly { readonly id: string; readonly status: string }[];
    readonly scanner: { readonly name: string; readonly version: string };
  };
}

let basic: RunningRegistry;
let token: RunningRegistry;

beforeAll(async () => {
  basic = await startRegistry({ auth: { mode: 'htpasswd', users: { [CI.username]: CI.password } } });
  token = await startRegistry({
    auth: {
      mode: 'token',
      users: { [WRITER.username]: WRITER.password, [READER.username]: READER.password },
      pullOnly: [READER.username],
    },
  });
});

afterAll(async () => {
  await basic.close();
  await token.close();
});

/** Pushes a fresh image and returns it by digest. */
async function pushed(
  registry: RunningRegistry,
  repository: string,
  credentials: Credentials,
): Promise<string> {
  const image = await pushTestImage(registry, repository, 'v1', { credentials, content: `${repository}\n` });
  return `${registry.host}/${repository}@${image.digest}`;
}

/** Runs the real bundle on `image` with a stand-in trivy that replays `report`. */
async function scan(
  image: string,
  report: string,
  credentials: Credentials,
  inputs: Record<string, string> = {},
): Promise<ActionRunResult> {
  const scanner = writeStandInScanner({ name: 'trivy', version: '0.74.0', report });
  const root = mkdtempSync(join(tmpdir(), 'ds-action-scan-verdict-'));
  const workspace = join(root, 'workspace');
  mkdirSync(workspace);
  return runActionBundle(actionDir, {
    inputs: {
      image,
      'registry-username': credentials.username,
      'registry-password': credentials.password,
      ...inputs,
    },
    env: {
      PATH: `${scanner.binDir}:${SYSTEM_PATH}`,
      GITHUB_WORKSPACE: workspace,
      RUNNER_TOOL_CACHE: join(root, 'tool-cache'),
      GITHUB_REPOSITORY: 'dream/scape',
      GITHUB_RUN_ID: '7',
    },
    cwd: workspace,
  });
}

/** The newest verdict of `image`, read by another process (scripts/read-verdict.ts). */
async function readVerdict(image: string, credentials: Credentials): Promise<ReadBack> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', './scripts/ts-register.mjs', 'scripts/read-verdict.ts', image],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        DS_USERNAME: credentials.username,
        DS_PASSWORD: credentials.password,
        DS_SCHEME: 'http',
      },
    },
  );
  return JSON.parse(stdout) as ReadBack;
}

/** The tags of a repository of the htpasswd registry, straight from its API. */
async function tags(repository: string): Promise<string[]> {
  const response = await fetch(`${basic.url}/v2/${repository}/tags/list`, {
    headers: { Authorization: `Basic ${Buffer.from(`${CI.username}:${CI.password}`).toString('base64')}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { tags: string[] | null }).tags ?? [];
}

/** The referrers tag schema index of an image of the htpasswd registry. */
async function tagIndex(image: string): Promise<{ manifests: { digest: string; artifactType?: string }[] }> {
  const at = image.indexOf('@');
  const repository = image.slice(basic.host.length + 1, at);
  const tag = image.slice(at + 1).replace(':', '-');
  const response = await fetch(`${basic.url}/v2/${repository}/manifests/${tag}`, {
    headers: {
      Authorization: `Basic ${Buffer.from(`${CI.username}:${CI.password}`).toString('base64')}`,
      Accept: 'application/vnd.oci.image.index.v1+json',
    },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { manifests: { digest: string; artifactType?: string }[] };
}

const DEBIAN_COUNTS = { critical: 1, high: 0, medium: 0, low: 1, negligible: 0, unknown: 0 };

describe('action-scan attaches its verdict to the scanned image (dist/index.js)', () => {
  it('attaches the verdict by default; another process reads it back; a second scan keeps both, newest read', async () => {
    const image = await pushed(basic, 'dreamscape/auth', CI);
    const first = await scan(image, 'trivy-image-debian-buster.json', CI, { 'severity-threshold': 'none' });
    expect(first.errors).toEqual([]);
    expect(first.exitCode).toBe(0);
    expect(first.outputs['verdict-attached']).toBe('true');
    const firstDigest = first.outputs['verdict-digest'] ?? '';
    expect(firstDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const at = image.indexOf('@');
    expect(first.summary).toContain(
      `Verdict attached to \`${image.slice(0, at + 'sha256:'.length + 13)}\` as \`${firstDigest}\`.`,
    );
    // The password reached the registry client masked, like everything else.
    expect(first.stdout.replaceAll(`::add-mask::${CI.password}`, '')).not.toContain(CI.password);

    const read = await readVerdict(image, CI);
    expect(read.referrer).toBe(firstDigest);
    expect(read.verdict).toMatchObject({
      image,
      result: 'pass',
      policy: { threshold: 'none', ignoreUnfixed: false, failOn: 'fail-build' },
      counts: { before: DEBIAN_COUNTS, after: DEBIAN_COUNTS },
      // The database Trivy recorded beside itself (db/metadata.json) when it downloaded it.
      scanner: {
        name: 'trivy',
        version: '0.74.0',
        database: { version: '2', updatedAt: '2026-12-07T00:22:16.563Z' },
      },
    });
    expect(read.verdict?.findings.map((f) => [f.id, f.status])).toEqual([
      ['CVE-2019-18224', 'allowed'],
      ['CVE-2019-18276', 'allowed'],
    ]);

    const second = await scan(image, 'trivy-image-debian-buster.json', CI, {
      'severity-threshold': 'critical',
      'fail-build': 'false',
    });
    expect(second.exitCode).toBe(0);
    expect(second.outputs.verdict).toBe('fail');
    expect(second.outputs['verdict-attached']).toBe('true');
    const secondDigest = second.outputs['verdict-digest'] ?? '';
    expect(secondDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(secondDigest).not.toBe(firstDigest);
    // docker-registry 2.8 has no referrers API: both are listed under the sha256-<hex> tag.
    const index = await tagIndex(image);
    expect(index.manifests.map((m) => [m.digest, m.artifactType])).toEqual([
      [firstDigest, ARTIFACT_TYPE],
      [secondDigest, ARTIFACT_TYPE],
    ]);
    const newest = await readVerdict(image, CI);
    expect(newest.referrer).toBe(secondDigest);
    expect(newest.verdict).toMatchObject({
      result: 'fail',
      policy: { threshold: 'critical', failOn: 'report-only' },
    });
  });

  it('a failing verdict is attached too, and then the step fails', async () => {
    const image = await pushed(basic, 'dreamscape/billing', CI);
    const result = await scan(image, 'trivy-image-debian-buster.json', CI);
    expect(result.exitCode).toBe(1);
    expect(result.errors).toEqual([
      `Vulnerability scan failed for ${image}: 1 finding at or above 'high' after waivers: CVE-2019-18224 (critical, libidn2-0).\nHint: Upgrade the affected packages, or record an accepted risk in the waivers file (with an owner and an expiry date).`,
    ]);
    expect(result.outputs['verdict-attached']).toBe('true');
    const read = await readVerdict(image, CI);
    expect(read.referrer).toBe(result.outputs['verdict-digest']);
    expect(read.verdict).toMatchObject({
      result: 'fail',
      policy: { threshold: 'high', failOn: 'fail-build' },
      counts: { after: DEBIAN_COUNTS },
    });
  });

  it('auto: credentials that may only pull get a warning, no verdict, and the same scan result', async () => {
    const image = await pushed(token, 'dreamscape/search', WRITER);
    const result = await scan(image, 'trivy-image-debian-buster.json', READER, {
      'severity-threshold': 'critical',
      'fail-build': 'false',
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe('fail');
    expect(JSON.parse(result.outputs.counts ?? '')).toEqual({ before: DEBIAN_COUNTS, after: DEBIAN_COUNTS });
    expect(result.outputs['verdict-attached']).toBe('false');
    expect(result.outputs['verdict-digest']).toBe('');
    const warnings = result.stdout.split('\n').filter((l) => l.startsWith('::warning::'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      `The scan verdict was not attached to ${image}: ${token.host} refused the write`,
    );
    expect(warnings[0]).toContain("'permissions: packages: write'");
    expect(warnings[0]).toContain("'attach-verdict: false'");
    expect(result.summary).toContain(`refused the write (HTTP 401).`);
    expect(await readVerdict(image, WRITER)).toEqual({ none: true });
  });

  it('true: credentials that may only pull fail the step, naming the registry', async () => {
    const image = await pushed(token, 'dreamscape/orders', WRITER);
    const result = await scan(image, 'trivy-image-zero-vulns-sl-micro.json', READER, {
      'attach-verdict': 'true',
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verdict).toBe('pass');
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toContain(`Could not attach the scan verdict to ${image} in ${token.host}: `);
    expect(result.errors[0]).toContain("'permissions: packages: write'");
    expect(await readVerdict(image, WRITER)).toEqual({ none: true });
  });

  it('false: nothing is written to the registry', async () => {
    const image = await pushed(basic, 'dreamscape/mail', CI);
    const result = await scan(image, 'trivy-image-debian-buster.json', CI, { 'attach-verdict': 'false' });
    expect(result.exitCode).toBe(1);
    expect(result.outputs['verdict-attached']).toBe('false');
    expect(result.outputs['verdict-digest']).toBe('');
    expect(result.summary).toContain('Verdict not attached to');
    expect(await tags('dreamscape/mail')).toEqual(['v1']);
    expect(await readVerdict(image, CI)).toEqual({ none: true });
  });
});
