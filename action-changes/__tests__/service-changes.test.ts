import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compilePathPattern } from '../src/path-glob.js';
import { describeReason, selectAll, selectServices } from '../src/service-changes.js';
import { parseServicesFile } from '../src/services-file.js';
import { projectRoot } from './support/git-repo.js';

const servicesFile = 'examples/dreamscape/services.json';
const services = parseServicesFile(readFileSync(join(projectRoot, servicesFile), 'utf8'), {
  path: servicesFile,
});
const shared = [compilePathPattern(servicesFile)];
const names = (files: string[]): string[] =>
  selectServices(services, files, shared).selected.map((s) => s.name);

describe('selectServices on the DreamScape example', () => {
  it('a change to one service selects that service only', () => {
    const selection = selectServices(
      services,
      ['examples/dreamscape/services/payment/src/server.js'],
      shared,
    );
    expect(selection.selected.map((s) => s.name)).toEqual(['payment']);
    expect(selection.all).toBe(false);
    expect(describeReason(selection.reasons.get('payment')!)).toBe(
      'examples/dreamscape/services/payment/src/server.js changed',
    );
  });

  it('changes to two services select both, in the order of the services file', () => {
    expect(
      names([
        'examples/dreamscape/services/panorama/package.json',
        'examples/dreamscape/services/gateway/Dockerfile',
      ]),
    ).toEqual(['gateway', 'panorama']);
  });

  it('a Dockerfile change is reported as such', () => {
    const selection = selectServices(services, ['examples/dreamscape/services/ai/Dockerfile'], shared);
    expect(describeReason(selection.reasons.get('ai')!)).toBe(
      'its Dockerfile examples/dreamscape/services/ai/Dockerfile changed',
    );
  });

  it('manifests, docs and other code select nothing', () => {
    const selection = selectServices(
      services,
      ['examples/dreamscape/k8s/base/auth/deployment.yaml', 'README.md', 'packages/core/src/inputs.ts'],
      shared,
    );
    expect(selection.selected).toEqual([]);
    expect(selection.unmatched).toEqual([
      'examples/dreamscape/k8s/base/auth/deployment.yaml',
      'README.md',
      'packages/core/src/inputs.ts',
    ]);
  });

  it('a service directory is not confused with one whose name starts the same', () => {
    expect(
      names(['examples/dreamscape/services/user-profile/x.js', 'examples/dreamscape/services/users']),
    ).toEqual([]);
  });

  it('a change to the services file selects every service', () => {
    const selection = selectServices(services, [servicesFile, 'README.md'], shared);
    expect(selection.all).toBe(true);
    expect(selection.selected).toHaveLength(7);
    expect(describeReason(selection.reasons.get('voyage')!)).toBe(
      `${servicesFile} changed (shared path ${servicesFile})`,
    );
  });

  it('a shared pattern selects every service', () => {
    const selection = selectServices(
      services,
      ['.github/workflows/build.yml'],
      [...shared, compilePathPattern('.github/workflows/**')],
    );
    expect(selection.selected).toHaveLength(7);
  });

  it('normalizes the paths it is given and ignores duplicates and blanks', () => {
    expect(
      names([
        './examples//dreamscape/services/user/src/server.js',
        '',
        'examples/dreamscape/services/user/src/server.js',
      ]),
    ).toEqual(['user']);
  });

  it('nothing changed selects nothing', () => {
    const selection = selectServices(services, [], shared);
    expect(selection).toMatchObject({ selected: [], all: false, unmatched: [] });
  });
});

describe('selectServices with extra paths and a root context', () => {
  const custom = parseServicesFile(
    JSON.stringify({
      registry: 'ghcr.io/acme',
      services: [
        { name: 'web', context: 'web', paths: ['libs/ui/**'] },
        { name: 'api', context: 'api', dockerfile: 'docker/api.Dockerfile', paths: ['libs/proto'] },
        { name: 'monolith', context: '.' },
      ],
    }),
    { path: 'services.json' },
  );

  it('a path listed by a service selects it', () => {
    const selection = selectServices(custom, ['libs/ui/button.tsx']);
    expect(selection.selected.map((s) => s.name)).toEqual(['web', 'monolith']);
    expect(describeReason(selection.reasons.get('web')!)).toBe(
      'libs/ui/button.tsx changed (one of its paths)',
    );
  });

  it('a Dockerfile outside the context selects its service', () => {
    expect(selectServices(custom, ['docker/api.Dockerfile']).selected.map((s) => s.name)).toEqual([
      'api',
      'monolith',
    ]);
  });

  it('a service whose context is the repository root takes every change', () => {
    expect(selectServices(custom, ['anything/at/all.txt']).selected.map((s) => s.name)).toEqual(['monolith']);
  });
});

describe('selectAll', () => {
  it('selects every service and says why', () => {
    const selection = selectAll(services, 'a schedule event has no base to compare with');
    expect(selection.selected).toHaveLength(7);
    expect(selection.all).toBe(true);
    expect(describeReason(selection.reasons.get('gateway')!)).toBe(
      'a schedule event has no base to compare with',
    );
  });
});
