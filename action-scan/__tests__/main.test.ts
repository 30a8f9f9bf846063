import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildReleaseArchive,
  checksumsFile,
  runActionBundle,
  sha256Of,
  startGitHubApi,
  startReleaseServer,
  validateSarif,
  writeStandInScanner,
  type ActionRunResult,
  type GitHubApiServer,
  type StandInOptions,
  type StandInScanner,
} from '@dreamscape/testkit';

const actionDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIGEST = `sha256:${'f'.repeat(64)}`;
const IMAGE = `ghcr.io/dreamscape/auth@${DIGEST}`;
/** System directories only: no real trivy or grype can sneak in. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Counts {
  before: Record<string, number>;
  after: Record<string, number>;
}

function day(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

interface Run {
  readonly result: ActionRunResult;
  readonly scanner: StandInScanner;
  readonly workspace: string;
}

async function scan(
  options: Partial<StandInOptions> & { report?: string },
  inputs: Record<string, string> = {},
  extra: {
    env?: Record<string, string>;
    event?: { name: string; payload: unknown };
    files?: Record<string, string>;
  } = {},
): Promise<Run> {
  const scanner = writeStandInScanner({
    name: options.name ?? 'trivy',
    version: options.version ?? (options.name === 'grype' ? '0.116.0' : '0.74.0'),
    ...options,
  });
  const root = mkdtempSync(join(tmpdir(), 'ds-action-scan-'));
  const workspace = join(root, 'workspace');
  mkdirSync(workspace);
  for (const [name, content] of Object.entries(extra.files ?? {})) {
    mkdirSync(dirname(join(workspace, name)), { recursive: true });
    writeFileSync(join(workspace, name), content);
  }
  const result = await runActionBundle(actionDir, {
    // These images live in no registry: the verdict's attachment is tested in verdict.test.ts.
    inputs: { image: IMAGE, 'attach-verdict': 'false', ...inputs },
    env: {
      PATH: `${scanner.binDir}:${SYSTEM_PATH}`,
      GITHUB_WORKSPACE: workspace,
      RUNNER_TOOL_CACHE: join(root, 'tool-cache'),
      GITHUB_REPOSITORY: 'dream/scape',
      GITHUB_RUN_ID: '99',
      ...extra.env,
    },
    ...(extra.event === undefined ? {} : { event: extra.event }),
    cwd: workspace,
  });
  return { result, scanner, workspace };
}

/** Every SARIF file the action writes must pass Microsoft's SARIF Multitool (schema + GitHub rules). */
function expectValidSarif(result: ActionRunResult): void {
  const file = result.outputs['sarif-file'];
  expect(file).toBeDefined();
  const validation = validateSarif(file ?? '');
  expect(validation.errors).toEqual([]);
}

function counts(result: ActionRunResult): Counts {
  return JSON.parse(result.outputs.counts ?? '{}') as Counts;
}

describe('action-scan (dist/index.js run as the runner does)', () => {
  it('fails on the critical Debian finding at the default threshold, with outputs, summary and SARIF', async () => {
    const { result, scanner } = await scan({ report: 'trivy-image-debian-buster.json' });
    expect(result.exitCode).toBe(1);
    expect(result.errors).toEqual([
      `Vulnerability scan failed for ${IMAGE}: 1 finding at or above 'high' after waivers: CVE-2019-18224 (critical, libidn2-0).\nHint: Upgrade the affected packages, or record an accepted risk in the waivers file (with an owner and an expiry date).`,
    ]);
    expect(result.outputs.verdict).toBe('fail');
    expect(counts(result)).toEqual({
      before: { critical: 1, high: 0, medium: 0, low: 1, negligible: 0, unknown: 0 },
      after: { critical: 1, high: 0, medium: 0, low: 1, negligible: 0, unknown: 0 },
    });
    expect(result.outputs.total).toBe('2');
    expect(result.outputs.fixable).toBe('1');
    expect(JSON.parse(result.outputs.waived ?? '')).toEqual({ applied: [], expired: [], unused: [] });
    const sarifFile = result.outputs['sarif-file'] ?? '';
    expect(sarifFile).toBe(
      join(result.dir, 'runner-temp', 'dreamscape-scan', 'image-ghcr.io-dreamscape-auth', 'results.sarif'),
    );
    const sarif = JSON.parse(readFileSync(sarifFile, 'utf8')) as {
      runs: {
        tool: { driver: { version: string } };
        automationDetails: { id: string };
        results: { ruleId: string }[];
      }[];
    };
    expect(sarif.runs[0]?.results.map((r) => r.ruleId)).toEqual(['CVE-2019-18224', 'CVE-2019-18276']);
    expect(sarif.runs[0]?.automationDetails.id).toBe('image/ghcr.io/dreamscape/auth/');
    // The report says 'dev'; the version verified on the binary is what SARIF carries.
    expect(sarif.runs[0]?.tool.driver.version).toBe('0.74.0');
    const validation = validateSarif(sarifFile);
    expect(validation.errors).toEqual([]);
    const report = JSON.parse(readFileSync(result.outputs['report-file'] ?? '', 'utf8')) as {
      verdict: string;
      findings: { id: string; status: string }[];
    };
    expect(report.verdict).toBe('fail');
    expect(report.findings.map((f) => [f.id, f.status])).toEqual([
      ['CVE-2019-18224', 'blocking'],
      ['CVE-2019-18276', 'allowed'],
    ]);
    expect(result.summary).toContain(`### ❌ Image scan failed: \`${IMAGE}\``);
    expect(result.summary).toContain('| Critical | 1 | 1 |');
    expect(result.summary).toContain('| 2.0.5-1+deb10u1 | ⛔ blocking |');
    // Phases are grouped in the log; the scanner ran with JSON into a file.
    expect(result.stdout).toContain('::group::Set up trivy 0.74.0');
    expect(result.stdout).toContain('::group::Update the trivy vulnerability database');
    expect(result.stdout).toContain(`::group::Scan ${IMAGE}`);
    const scanCall = scanner.calls().find((c) => c.args[0] === 'image' && c.args.includes('--format'));
    expect(scanCall?.args).toEqual(expect.arrayContaining(['--format', 'json', '--output']));
  });

  it.each([
    ['trivy-image-debian-buster.json', 'critical', 1, 'fail'],
    ['trivy-image-debian-buster.json', 'none', 0, 'pass'],
    ['trivy-image-alpine-310.json', 'high', 0, 'pass'],
    ['trivy-image-alpine-310.json', 'medium', 1, 'fail'],
    ['trivy-fs-npm-lockfile.json', 'low', 1, 'fail'],
    ['trivy-image-zero-vulns-sl-micro.json', 'low', 0, 'pass'],
  ])('%s at severity-threshold %s exits %d with verdict %s', async (report, threshold, exitCode, verdict) => {
    const { result } = await scan({ report }, { 'severity-threshold': threshold });
    expect(result.exitCode).toBe(exitCode);
    expect(result.outputs.verdict).toBe(verdict);
    expectValidSarif(result);
  });

  it('fail-build false reports the failing verdict without failing the step', async () => {
    const { result } = await scan(
      { report: 'trivy-image-alpine-310.json' },
      { 'severity-threshold': 'medium', 'fail-build': 'false' },
    );
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe('fail');
  });

  it("grype: ignore-unfixed passes the RHEL image whose only flaw won't be fixed", async () => {
    const strict = await scan(
      { name: 'grype', report: 'grype-image-rhel-wontfix.json' },
      { scanner: 'grype', 'severity-threshold': 'low' },
    );
    expect(strict.result.exitCode).toBe(1);
    expect(strict.result.outputs.total).toBe('1');
    expect(strict.result.outputs.fixable).toBe('0');
    expect(strict.scanner.calls().map((c) => c.args[0])).toEqual(['version', 'db', `registry:${IMAGE}`]);
    const lenient = await scan(
      { name: 'grype', report: 'grype-image-rhel-wontfix.json' },
      { scanner: 'grype', 'severity-threshold': 'low', 'ignore-unfixed': 'true' },
    );
    expect(lenient.result.exitCode).toBe(0);
    expect(lenient.result.outputs.verdict).toBe('pass');
    expect(counts(lenient.result).after.low).toBe(0);
    expect(counts(lenient.result).before.low).toBe(1);
    expect(lenient.result.summary).toContain('no fix, ignored');
    expectValidSarif(strict.result);
    expectValidSarif(lenient.result);
  });

  it('a valid waiver waives the critical finding; the verdict passes and the summary says who owns it', async () => {
    const { result } = await scan(
      { report: 'trivy-image-debian-buster.json' },
      { waivers: '.github/scan-waivers.yml' },
      {
        files: {
          '.github/scan-waivers.yml': `waivers:\n  - id: CVE-2019-18224\n    package: libidn2-0\n    reason: IDN input is never parsed\n    owner: "@platform"\n    expires: ${day(30)}\n`,
        },
      },
    );
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
    expect(counts(result).after.critical).toBe(0);
    expect(JSON.parse(result.outputs.waived ?? '')).toMatchObject({
      applied: [
        { id: 'CVE-2019-18224', package: 'libidn2-0', owner: '@platform', findings: ['CVE-2019-18224'] },
      ],
      expired: [],
    });
    expect(result.summary).toContain('**Applied**');
    expect(result.summary).toContain('| CVE-2019-18224 | libidn2-0 | @platform |');
    expect(result.stdout).toContain('Loaded 1 waivers from .github/scan-waivers.yml.');
    expectValidSarif(result);
  });

  it('an expired waiver stops waiving: the verdict fails and the waiver is listed as expired', async () => {
    const expires = day(-2);
    const { result } = await scan(
      { report: 'trivy-image-debian-buster.json' },
      { waivers: 'waivers.yml' },
      {
        files: {
          'waivers.yml': `- {id: CVE-2019-18224, reason: temporary, owner: "@sec", expires: ${expires}}\n`,
        },
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verdict).toBe('fail');
    expect(JSON.parse(result.outputs.waived ?? '')).toMatchObject({
      applied: [],
      expired: [{ id: 'CVE-2019-18224', expires, findings: ['CVE-2019-18224'] }],
    });
    expect(result.stdout).toContain(
      `::warning::Waiver for CVE-2019-18224 (owner @sec) expired on ${expires}.`,
    );
    expect(result.summary).toContain('**Expired (no longer waive anything)**');
    expect(result.summary).toContain(
      `The waiver for CVE-2019-18224 (owner @sec) expired on ${expires} and no longer applies.`,
    );
    expectValidSarif(result);
  });

  it('registry credentials are masked and reach the scanner only through its environment', async () => {
    const { result, scanner } = await scan(
      { report: 'trivy-image-zero-vulns-sl-micro.json' },
      { 'registry-username': 'robot', 'registry-password': 'pull-token-8f2c1d' },
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('::add-mask::pull-token-8f2c1d');
    expect(result.stdout.replace('::add-mask::pull-token-8f2c1d', '')).not.toContain('pull-token-8f2c1d');
    const scanCall = scanner.calls().at(-1);
    expect(scanCall?.args.join(' ')).not.toContain('pull-token-8f2c1d');
    expect(scanCall?.env).toMatchObject({ TRIVY_USERNAME: 'robot', TRIVY_PASSWORD: 'pull-token-8f2c1d' });
  });

  it('points SARIF at the Dockerfile’s final FROM line when given', async () => {
    const { result } = await scan(
      { report: 'trivy-fs-npm-lockfile.json' },
      {
        dockerfile: 'services/auth/Dockerfile',
        'sarif-file': 'out/auth.sarif',
        'severity-threshold': 'none',
      },
      {
        files: {
          'services/auth/Dockerfile':
            'FROM node:22 AS build\nRUN npm ci\n\nFROM node:22-slim\nCOPY --from=build /app /app\n',
        },
      },
    );
    expect(result.exitCode).toBe(0);
    expect(result.outputs['sarif-file']).toMatch(/workspace\/out\/auth\.sarif$/);
    const sarif = JSON.parse(readFileSync(result.outputs['sarif-file'] ?? '', 'utf8')) as {
      runs: {
        results: {
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
        }[];
      }[];
    };
    const loc = sarif.runs[0]?.results[0]?.locations[0]?.physicalLocation;
    expect(loc?.artifactLocation.uri).toBe('services/auth/Dockerfile');
    expect(loc?.region.startLine).toBe(4);
    expect(validateSarif(result.outputs['sarif-file'] ?? '').errors).toEqual([]);
  });

  it('accepts the build record JSON that action-build writes', async () => {
    const record = JSON.stringify({
      image: IMAGE,
      digest: DIGEST,
      tags: [],
      platforms: ['linux/amd64'],
      labels: {},
      builder: 'buildah',
      revision: 'abc',
    });
    const { result, scanner } = await scan(
      { report: 'trivy-image-zero-vulns-sl-micro.json' },
      { image: record },
    );
    expect(result.exitCode).toBe(0);
    expect(scanner.calls().at(-1)?.args.at(-1)).toBe(IMAGE);
  });

  it('retries the database download and says so, then scans', async () => {
    const { result } = await scan({ report: 'trivy-image-zero-vulns-sl-micro.json', dbFailures: 1 });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /::warning::.*trivy failed \(attempt 1 of 3\); retrying in 2000ms: FATAL.*TOOMANYREQUESTS/,
    );
    expect(result.stdout).toContain('vulnerability database is up to date');
    expect(result.stdout).toContain('(after 2 attempts)');
  });
});

describe('action-scan pull request comment', () => {
  let api: GitHubApiServer;
  beforeAll(async () => {
    api = await startGitHubApi({ token: 'ghs_comment_token', maxPerPage: 20 });
  });
  afterAll(async () => {
    await api.close();
  });

  it('creates one sticky comment, then updates it in place on the next run, never duplicating it', async () => {
    for (let i = 0; i < 45; i++) api.addComment('dream', 'scape', 7, `review ${i}`);
    const event = {
      name: 'pull_request',
      payload: { action: 'synchronize', number: 7, pull_request: { number: 7 } },
    };
    const env = { GITHUB_API_URL: api.url };
    const first = await scan(
      { report: 'trivy-image-debian-buster.json' },
      { 'github-token': api.token, 'severity-threshold': 'none' },
      { env, event },
    );
    expect(first.result.exitCode).toBe(0);
    const marker = '<!-- dreamscape:scan:image/ghcr.io/dreamscape/auth -->';
    const ours = api.comments('dream', 'scape', 7).filter((c) => c.body.includes(marker));
    expect(ours).toHaveLength(1);
    expect(ours[0]?.body.startsWith(`${marker}\n### ✅ Image scan passed`)).toBe(true);
    expect(ours[0]?.body).toContain('| Critical | 1 | 1 |');
    expect(first.result.outputs['comment-url']).toContain(`#issuecomment-${ours[0]?.id}`);
    expect(first.result.stdout).toContain('::group::Comment on pull request #7');
    expect(first.result.stdout).toContain('::add-mask::ghs_comment_token');

    const second = await scan(
      { report: 'trivy-image-alpine-310.json' },
      { 'github-token': api.token, 'severity-threshold': 'medium' },
      { env, event },
    );
    expect(second.result.exitCode).toBe(1);
    const after = api.comments('dream', 'scape', 7).filter((c) => c.body.includes(marker));
    expect(after).toHaveLength(1);
    expect(after[0]?.id).toBe(ours[0]?.id);
    expect(after[0]?.body).toContain('### ❌ Image scan failed');
    expect(after[0]?.body).toContain('CVE-2019-1549');
    expect(api.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(api.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    // The 46 comments span three pages: every run read them all.
    expect(api.requests.filter((r) => r.method === 'GET' && r.query.page === '3')).toHaveLength(2);
    expect(api.comments('dream', 'scape', 7)).toHaveLength(46);
  });

  it('leaves a stranger’s comment carrying the scan marker alone and keeps its own', async () => {
    const marker = '<!-- dreamscape:scan:image/ghcr.io/dreamscape/auth -->';
    const planted = `${marker}\n### ✅ Image scan passed (trust me)`;
    const stranger = { login: 'mallory', type: 'User' } as const;
    api.addComment('dream', 'scape', 12, planted, stranger);
    const event = { name: 'pull_request', payload: { pull_request: { number: 12 } } };
    const env = { GITHUB_API_URL: api.url };
    const before = api.requests.length;
    for (const report of ['trivy-image-debian-buster.json', 'trivy-image-alpine-310.json']) {
      const { result } = await scan(
        { report },
        { 'github-token': api.token, 'severity-threshold': 'none' },
        { env, event },
      );
      expect(result.exitCode).toBe(0);
    }
    const comments = api.comments('dream', 'scape', 12);
    expect(comments.map((c) => [c.user.login, c.body.split('\n')[0]])).toEqual([
      ['mallory', marker],
      ['github-actions[bot]', marker],
    ]);
    expect(comments[0]?.body).toBe(planted);
    const writes = api.requests.slice(before).filter((r) => r.method !== 'GET');
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /repos/dream/scape/issues/12/comments',
      `PATCH /repos/dream/scape/issues/comments/${comments[1]?.id ?? ''}`,
    ]);
  });

  it('does not comment outside pull requests, and a refused comment only warns', async () => {
    const before = api.requests.length;
    const push = await scan(
      { report: 'trivy-image-zero-vulns-sl-micro.json' },
      { 'github-token': api.token },
      { env: { GITHUB_API_URL: api.url }, event: { name: 'push', payload: { ref: 'refs/heads/main' } } },
    );
    expect(push.result.exitCode).toBe(0);
    expect(push.result.stdout).toContain('No pull request in this push event: no comment.');
    expect(api.requests.length).toBe(before);

    api.failNext('GET', '/repos/dream/scape/issues/8/comments', 403, 1);
    const refused = await scan(
      { report: 'trivy-image-zero-vulns-sl-micro.json' },
      { 'github-token': api.token },
      {
        env: { GITHUB_API_URL: api.url },
        event: { name: 'pull_request', payload: { pull_request: { number: 8 } } },
      },
    );
    expect(refused.result.exitCode).toBe(0);
    expect(refused.result.stdout).toMatch(
      /::warning::Could not comment on pull request #8: GitHub API GET .* failed with HTTP 403/,
    );
  });
});

describe('action-scan installs the scanner when PATH has none', () => {
  it('downloads from an https scanner-download-url only with the caller’s scanner-sha256, verifies it and caches it; a wrong one is refused', async () => {
    // Not the pinned release (its bytes are not the published ones): a version the caller pins.
    const released = writeStandInScanner({
      name: 'trivy',
      version: '0.75.0',
      report: 'trivy-image-alpine-310.json',
    });
    const archive = buildReleaseArchive(released.path, 'trivy');
    const name = 'trivy_0.75.0_Linux-64bit.tar.gz';
    const server = await startReleaseServer({
      [name]: archive,
      // Offered, never fetched: the server does not get to vouch for its own archive.
      'trivy_0.75.0_checksums.txt': checksumsFile({ [name]: archive }),
    });
    try {
      const toolCache = mkdtempSync(join(tmpdir(), 'ds-tool-cache-'));
      const run = (sha256: string) =>
        runActionBundle(actionDir, {
          inputs: {
            image: IMAGE,
            'attach-verdict': 'false',
            'scanner-version': '0.75.0',
            'scanner-download-url': server.urlTemplate,
            'scanner-sha256': sha256,
          },
          env: {
            PATH: SYSTEM_PATH,
            RUNNER_TOOL_CACHE: toolCache,
            GITHUB_WORKSPACE: mkdtempSync(join(tmpdir(), 'ds-ws-')),
            // The test server's certificate: the action itself speaks only https.
            NODE_EXTRA_CA_CERTS: server.caCertPath,
          },
        });
      const wrong = 'b'.repeat(64);
      const refused = await run(wrong);
      expect(refused.exitCode).toBe(1);
      expect(refused.errors[0]).toMatch(
        new RegExp(
          `^Refusing to run trivy 0\\.75\\.0 from https://127\\.0\\.0\\.1:\\d+/releases/v0\\.75\\.0/trivy_0\\.75\\.0_Linux-64bit\\.tar\\.gz: its sha256 is ${sha256Of(archive)}, but scanner-sha256 says ${wrong}\\.`,
        ),
      );
      expect(existsSync(join(toolCache, 'trivy'))).toBe(false);
      expect(released.calls()).toEqual([]);

      const installed = await run(sha256Of(archive).toUpperCase());
      expect(installed.errors).toEqual([]);
      expect(installed.exitCode).toBe(0);
      expect(installed.stdout).toContain(
        `Verified ${name}: sha256 ${sha256Of(archive)} matches scanner-sha256.`,
      );
      expect(installed.stdout).toContain(
        `Installed trivy 0.75.0 into ${join(toolCache, 'trivy', '0.75.0', 'x64', 'trivy')}`,
      );
      expect(installed.outputs.verdict).toBe('pass');
      const again = await run(sha256Of(archive));
      expect(again.stdout).toContain('Using trivy 0.75.0 from the tool cache');
      expect(server.requests).toEqual([`/releases/v0.75.0/${name}`, `/releases/v0.75.0/${name}`]);
    } finally {
      await server.close();
    }
  });
});

describe('action-scan refuses bad input and bad scanner output with clear errors', () => {
  it.each([
    [{ scanner: 'snyk' }, `Input 'scanner' has an invalid value "snyk". Accepted: 'trivy', 'grype'.`],
    [
      { 'severity-threshold': 'severe' },
      `Input 'severity-threshold' has an invalid value "severe". Accepted: 'critical', 'high', 'medium', 'low', 'none'.`,
    ],
    [
      { image: 'ghcr.io/dreamscape/auth:latest' },
      `Input 'image' has an invalid value "ghcr.io/dreamscape/auth:latest": it has no digest`,
    ],
    [
      { waivers: '../../etc/waivers.yml' },
      `Input 'waivers' has an invalid value "../../etc/waivers.yml": it points outside the workspace`,
    ],
    [
      { 'scanner-version': 'latest' },
      `Input 'scanner-version' has an invalid value "latest". Accepted: a release version such as 0.74.0.`,
    ],
    [
      { 'registry-username': 'robot' },
      `Input 'registry-password' is required. Accepted: registry-username and registry-password together, or neither.`,
    ],
  ])('%j', async (inputs, message) => {
    const { result, scanner } = await scan({ report: 'trivy-image-debian-buster.json' }, inputs);
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(message);
    // Inputs are checked before any scanner runs.
    expect(scanner.calls()).toEqual([]);
  });

  it('a malformed waivers file names the file and the entry, before scanning', async () => {
    const { result, scanner } = await scan(
      { report: 'trivy-image-debian-buster.json' },
      { waivers: 'waivers.yml' },
      {
        files: {
          'waivers.yml': `- {id: CVE-1, reason: r, owner: o, expires: ${day(10)}}\n- {id: CVE-2, reason: r, expires: soon}\n`,
        },
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain("Waivers file waivers.yml, entry 2 (CVE-2): 'owner' is required");
    expect(scanner.calls()).toEqual([]);
  });

  it.each([
    ['crash', 'trivy could not scan ghcr.io/dreamscape/auth@sha256:ffff'],
    ['unreachable-registry', 'lookup registry.invalid: no such host'],
    ['non-json', 'is not usable: it is not JSON'],
    ['no-report', 'trivy exited successfully but did not write it'],
  ] as const)('a scanner that goes %s', async (mode, message) => {
    const { result } = await scan({ report: 'trivy-image-debian-buster.json', mode });
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(message);
    expect(result.outputs.verdict).toBeUndefined();
  });

  it('a database that cannot be downloaded fails after the retries, saying why', async () => {
    const { result } = await scan(
      { name: 'grype', report: 'grype-image-alpine-java.json', dbFailures: 99 },
      { scanner: 'grype' },
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain(
      'Could not download the grype vulnerability database after 3 attempts: failed to load vulnerability db: unable to update vulnerability database: unable to download db: 503 Service Unavailable',
    );
    expect(result.stdout).toContain('(attempt 2 of 3); retrying in 4000ms');
  }, 60_000);
});
