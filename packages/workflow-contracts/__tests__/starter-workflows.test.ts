import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { triggers } from '../src/index.js';
import { root, workflows } from './support.js';

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
