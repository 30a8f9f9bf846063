import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildRecords,
  deploy,
  repoRoot,
  rollback,
  runActionBundle,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';
import {
  CHAIN_NAMESPACE,
  CHAIN_OVERLAY,
  CHAIN_SERVICES,
  caseInputs,
  loadCorpusDir,
  makeCaseWorkspace,
  makeOutsideDir,
  newPart,
  refusalProblems,
  renderSummary,
  tallyDir,
  writePart,
  type BadInputCase,
} from '../src/index.js';

const corpus = loadCorpusDir(join(repoRoot, 'packages/reliability/fixtures/bad-inputs'));
const markers = mkdtempSync(join(tmpdir(), 'ds-markers-'));
const outside = makeOutsideDir();
const part = newPart('bad inputs');
const started = Date.now();
let cluster: ExampleCluster;

/** Good inputs of each action, which a case overrides. */
const GOOD: Record<BadInputCase['action'], () => Record<string, string>> = {
  deploy: () => ({
    overlay: CHAIN_OVERLAY,
    images: buildRecords('v2', CHAIN_SERVICES),
    'health-checks': '- name: gateway\n  service: gateway\n  path: /health\n  interval: 100ms',
  }),
  rollback: () => ({ 'verify-window': '0s' }),
  build: () => ({
    image: '127.0.0.1:5999/dreamscape/gateway',
    context: 'examples/dreamscape/services/gateway',
    builder: 'buildah',
    push: 'false',
    tags: 'type=raw,value=corpus',
  }),
  scan: () => ({
    image: `ghcr.io/dreamscape/auth@sha256:${'f'.repeat(64)}`,
    // Never the internet, should a case get as far as installing the scanner (https and a pinned
    // sha256: a custom location needs both).
    'scanner-download-url': 'https://127.0.0.1:9/{version}',
    'scanner-sha256': '2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a',
  }),
  changes: () => ({
    'services-file': 'examples/dreamscape/services.json',
    'changed-files': 'examples/dreamscape/services/gateway/server.js',
  }),
};

beforeAll(async () => {
  cluster = await startCluster([{ image: '*', ready: '200ms' }]);
  for (const version of ['v1', 'v2']) {
    const r = await deploy(cluster, { ...GOOD.deploy(), images: buildRecords(version, CHAIN_SERVICES) });
    expect(r.outputs.result).toBe('promoted');
  }
}, 120_000);

afterAll(async () => {
  await cluster.double.close();
  part.durationMs = Date.now() - started;
  writePart(tallyDir(repoRoot), part);
  process.stdout.write(`${renderSummary([part])}\n`);
  rmSync(outside, { recursive: true, force: true });
});

async function runCase(c: BadInputCase, marker: string): Promise<ActionRunResult> {
  const places = { marker, outside };
  const workspace = makeCaseWorkspace(c, places);
  const inputs = { ...GOOD[c.action](), ...caseInputs(c, places) };
  const workspaceEnv = workspace === undefined ? {} : { GITHUB_WORKSPACE: workspace };
  switch (c.action) {
    case 'deploy':
      return deploy(cluster, inputs, { env: workspaceEnv, timeoutMs: 60_000 });
    case 'rollback':
      return rollback(cluster, inputs, { env: workspaceEnv, timeoutMs: 60_000 });
    case 'build':
      return runActionBundle(join(repoRoot, 'action-build'), {
        inputs,
        env: {
          GITHUB_WORKSPACE: repoRoot,
          GITHUB_REPOSITORY: 'dreamscape/platform',
          GITHUB_SHA: 'c0ffee0000000000000000000000000000000000',
          GITHUB_REF: 'refs/heads/main',
          GITHUB_EVENT_NAME: 'push',
          GITHUB_ACTOR: 'octocat',
          ...workspaceEnv,
        },
        timeoutMs: 60_000,
      });
    case 'scan': {
      const tools = mkdtempSync(join(tmpdir(), 'ds-corpus-tools-'));
      return runActionBundle(join(repoRoot, 'action-scan'), {
        inputs,
        env: {
          // System directories only: no scanner can run.
          PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          GITHUB_WORKSPACE: repoRoot,
          RUNNER_TOOL_CACHE: tools,
          GITHUB_REPOSITORY: 'dreamscape/platform',
          ...workspaceEnv,
        },
        timeoutMs: 60_000,
      });
    }
    case 'changes':
      return runActionBundle(join(repoRoot, 'action-changes'), {
        inputs,
        env: {
          GITHUB_WORKSPACE: repoRoot,
          GITHUB_REPOSITORY: 'dreamscape/platform',
          GITHUB_REPOSITORY_OWNER: 'dreamscape',
          GITHUB_SHA: 'c0ffee0000000000000000000000000000000000',
          ...workspaceEnv,
        },
        timeoutMs: 60_000,
      });
  }
}

describe(`${corpus.length} bad inputs across the five actions: a clear error naming the input, nothing written, nothing run`, () => {
  it('the corpus covers every action with at least 110 cases', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(110);
    for (const action of ['build', 'scan', 'deploy', 'rollback', 'changes'])
      expect(corpus.filter((c) => c.action === action).length).toBeGreaterThanOrEqual(8);
  });

  it.each(corpus.map((c, i) => [`${c.action}: ${c.name}`, c, i] as const))(
    '%s',
    async (_title, c, i) => {
      const marker = join(markers, `case-${i}`);
      cluster.double.clearLogs();
      const r = await runCase(c, marker);
      const problems = refusalProblems(c, r);
      if (c.action === 'deploy' || c.action === 'rollback') {
        const writes = cluster.double.writes();
        if (writes.length > 0)
          problems.push(
            `the double recorded ${writes.length} write(s): ${writes.map((w) => `${w.verb} ${w.kind}/${w.name}${w.dryRun ? ' (dry run)' : ''}`).join(', ')}`,
          );
      }
      if (existsSync(marker)) problems.push(`${marker} was created: a value reached a shell`);
      part.runs++;
      if (problems.length === 0) part.badInputs++;
      else {
        part.badInputsMissed++;
        part.failures.push(`${c.action}: ${c.name}: ${problems.join('; ')}`);
      }
      rmSync(r.dir, { recursive: true, force: true });
      expect(problems).toEqual([]);
    },
    90_000,
  );

  it('no case created its marker file', () => {
    expect(readdirSync(markers)).toEqual([]);
    expect(cluster.double.objects('secrets', CHAIN_NAMESPACE).length).toBeGreaterThan(0);
  });
});
