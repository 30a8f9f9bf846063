import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { root } from './support.js';

// The files another repository's maintainers look for before they depend on a set of actions.

const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const actions = readdirSync(root).filter(
  (d) => d.startsWith('action-') && existsSync(join(root, d, 'action.yml')),
);

/** The colors GitHub Marketplace accepts for `branding.color`. */
const BRANDING_COLORS = ['white', 'black', 'yellow', 'blue', 'green', 'orange', 'red', 'purple', 'gray-dark'];

describe('the files an open-source action repository is expected to have', () => {
  it('LICENSE is the Apache License 2.0 the package declares', () => {
    const pkg = JSON.parse(read('package.json')) as { license?: string };
    expect(pkg.license).toBe('Apache-2.0');
    const license = read('LICENSE');
    expect(license).toContain('Apache License');
    expect(license).toContain('Version 2.0, January 2004');
    expect(license).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
  });

  it('a security policy says how to report a vulnerability privately; CONTRIBUTING says how a change gets in', () => {
    expect(read('docs/SECURITY.md')).toMatch(/## Reporting a vulnerability\n\n.*private security advisory/);
    const contributing = read('CONTRIBUTING.md');
    expect(contributing).toContain('npm test');
    expect(contributing).toContain('npm run bundle');
  });

  it('CODEOWNERS gives every path an owner, and the release machinery two', () => {
    const rules = read('.github/CODEOWNERS')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.trim().split(/\s+/));
    for (const [pattern, ...owners] of rules) {
      expect([pattern, owners.length > 0]).toEqual([pattern, true]);
      for (const o of owners) expect(o).toMatch(/^@[a-z0-9-]+\/[a-z0-9-]+$/);
    }
    const owners = (pattern: string): string[] => rules.find((r) => r[0] === pattern)?.slice(1) ?? [];
    expect(owners('*').length).toBeGreaterThan(0);
    for (const p of ['/action-*/dist/', '/.github/', '/workflows/'])
      expect(owners(p).length).toBeGreaterThanOrEqual(2);
  });

  it('Dependabot updates the npm packages and the pinned actions of the workflows', () => {
    const config = load(read('.github/dependabot.yml')) as {
      version: number;
      updates: { 'package-ecosystem': string; directory: string; schedule: { interval: string } }[];
    };
    expect(config.version).toBe(2);
    const ecosystems = config.updates.map((u) => [u['package-ecosystem'], u.directory]);
    expect(ecosystems).toEqual(
      expect.arrayContaining([
        ['npm', '/'],
        ['github-actions', '/'],
      ]),
    );
    for (const u of config.updates) expect(['daily', 'weekly', 'monthly']).toContain(u.schedule.interval);
  });

  it('every action has Marketplace branding: an icon and one of the accepted colors', () => {
    expect(actions.length).toBeGreaterThanOrEqual(5);
    for (const action of actions) {
      const doc = load(read(join(action, 'action.yml'))) as { branding?: { icon?: string; color?: string } };
      expect([action, typeof doc.branding?.icon]).toEqual([action, 'string']);
      expect([action, BRANDING_COLORS.includes(doc.branding?.color ?? '')]).toEqual([action, true]);
    }
  });
});
