import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { triggers } from '../src/index.js';
import { actionDeployInputs, GITHUB, root, workflows } from './support.js';

const dir = join(root, 'workflows');
const names = readdirSync(dir);
const starters = workflows.filter((w) => w.path.startsWith('workflows/'));

describe('starter workflows (GitHub workflow-template format)', () => {
  it('each has a .properties.json, and each .properties.json a workflow', () => {
    const yml = names.filter((n) => n.endsWith('.yml')).map((n) => n.replace(/\.yml$/, ''));
    const props = names
      .filter((n) => n.endsWith('.properties.json'))
      .map((n) => n.replace(/\.properties\.json$/, ''));
    expect(yml.length).toBeGreaterThanOrEqual(3);
    expect(props.sort()).toEqual(yml.sort());
  });

  it.each(names.filter((n) => n.endsWith('.properties.json')))('%s describes its workflow', (name) => {
    const props = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(props).sort()).toEqual([
      'categories',
      'description',
      'filePatterns',
      'iconName',
      'name',
    ]);
    expect(typeof props.name).toBe('string');
    expect(typeof props.description).toBe('string');
    expect(props.iconName).toMatch(/^octicon [a-z-]+$/);
    expect(Array.isArray(props.categories) && props.categories.every((c) => typeof c === 'string')).toBe(
      true,
    );
    const patterns = props.filePatterns as unknown[];
    expect(patterns.length).toBeGreaterThan(0);
    for (const p of patterns) expect(() => new RegExp(String(p))).not.toThrow();
  });

  it('cover the full pipeline, a manual rollback and a single service', () => {
    const pipeline = starters.find((w) => w.path === 'workflows/dreamscape-pipeline.yml');
    expect(Object.keys(triggers(pipeline!.doc)).sort()).toEqual([
      'pull_request',
      'push',
      'workflow_dispatch',
    ]);
    const uses = Object.values(pipeline!.doc.jobs ?? {}).map((j) => j.uses);
    expect(uses).toEqual(
      expect.arrayContaining([
        'dreamscape/actions/.github/workflows/pr-checks.yml@v1',
        'dreamscape/actions/.github/workflows/build-scan.yml@v1',
        'dreamscape/actions/.github/workflows/deploy.yml@v1',
      ]),
    );
    const rollback = starters.find((w) => w.path === 'workflows/dreamscape-rollback.yml');
    expect(Object.keys(triggers(rollback!.doc)).sort()).toEqual(['repository_dispatch', 'workflow_dispatch']);
    const single = starters.find((w) => w.path === 'workflows/dreamscape-single-service.yml');
    expect(single!.doc.jobs?.build?.with).toEqual({ context: '.' });
  });

  it('use the default-branch placeholder rather than a branch name', () => {
    for (const w of starters) {
      const push = triggers(w.doc).push as { branches?: string[] } | null | undefined;
      if (push?.branches !== undefined) expect(push.branches).toEqual(['$default-branch']);
    }
  });
});

describe('starter deploys: scan verdicts required for staging and production', () => {
  const DEPLOY = 'dreamscape/actions/.github/workflows/deploy.yml@v1';
  /** Every starter job that calls deploy.yml, each environment it can deploy to, and whether verdicts are required there. */
  const expected: readonly (readonly [path: string, job: string, environment: string, required: string])[] = [
    ['workflows/dreamscape-deploy.yml', 'deploy', 'dev', 'false'],
    ['workflows/dreamscape-deploy.yml', 'deploy', 'staging', 'true'],
    ['workflows/dreamscape-deploy.yml', 'deploy', 'prod', 'true'],
    ['workflows/dreamscape-deploy.yml', 'deploy', 'production', 'true'],
    ['workflows/dreamscape-pipeline.yml', 'deploy-dev', 'dev', 'false'],
    ['workflows/dreamscape-pipeline.yml', 'promote', 'staging', 'true'],
    ['workflows/dreamscape-pipeline.yml', 'promote', 'prod', 'true'],
    ['workflows/dreamscape-single-service.yml', 'deploy', 'production', 'true'],
  ];
  const job = (path: string, id: string) => starters.find((w) => w.path === path)?.doc.jobs?.[id];

  it('lists every starter job that deploys, and every environment the pipeline promotes to', () => {
    const callers = starters.flatMap((w) =>
      Object.entries(w.doc.jobs ?? {})
        .filter(([, j]) => j.uses === DEPLOY)
        .map(([id]) => `${w.path}: ${id}`),
    );
    expect(callers.sort()).toEqual([...new Set(expected.map(([path, id]) => `${path}: ${id}`))].sort());
    const pipeline = starters.find((w) => w.path === 'workflows/dreamscape-pipeline.yml');
    const dispatch = triggers(pipeline!.doc).workflow_dispatch as {
      inputs: { environment: { options: string[] } };
    };
    expect(dispatch.inputs.environment.options).toEqual(['staging', 'prod']);
  });

  it.each(expected)('%s job %s deploying to %s: require-scan %s', (path, id, environment, required) => {
    const caller = job(path, id);
    // The caller's own values: a dispatch form's environment, the build's or the promotion's records.
    const deployed = actionDeployInputs(caller?.with ?? {}, {
      callerContexts: { inputs: { environment }, needs: {}, github: GITHUB },
    });
    expect(deployed.environment).toBe(environment);
    expect(deployed['require-scan']).toBe(required);
    expect(deployed['registry-password']).toBe(required === 'true' ? GITHUB.token : '');
    // Reading verdicts takes packages: read, and nothing more.
    expect(caller?.permissions).toEqual({ contents: 'read', deployments: 'write', packages: 'read' });
  });
});
