import { describe, expect, it } from '@jest/globals';
import type { Clock } from '@dreamscape/core';
import { OCI_LABELS, ociLabels, type GitHubContext } from '../src/index.js';

const CLOCK: Clock = { now: () => Date.parse('2026-01-02T03:04:05.678Z'), sleep: () => Promise.resolve() };

const CONTEXT: GitHubContext = {
  eventName: 'pull_request',
  sha: '1111111111111111111111111111111111111111',
  ref: 'refs/pull/9/merge',
  refName: '9/merge',
  refType: 'pull',
  headRef: 'feat',
  baseRef: 'main',
  serverUrl: 'https://github.example.com',
  apiUrl: 'https://github.example.com/api/v3',
  runId: '5',
  runNumber: '5',
  runAttempt: '1',
  actor: 'octocat',
  workflow: 'Build',
  runUrl: 'https://github.example.com/octo-org/app/actions/runs/5',
  repository: {
    owner: 'octo-org',
    name: 'app',
    fullName: 'octo-org/app',
    htmlUrl: 'https://github.example.com/octo-org/app',
    description: 'The app',
    license: 'MIT',
    defaultBranch: 'main',
  },
  pullRequest: {
    number: 9,
    headSha: '2222222222222222222222222222222222222222',
    headRef: 'feat',
    baseRef: 'main',
    htmlUrl: undefined,
  },
  payload: {},
};

describe('ociLabels', () => {
  it('describes the image from the run context', () => {
    expect(ociLabels(CONTEXT, { version: 'pr-9', clock: CLOCK })).toEqual({
      'org.opencontainers.image.title': 'app',
      'org.opencontainers.image.description': 'The app',
      'org.opencontainers.image.url': 'https://github.example.com/octo-org/app',
      'org.opencontainers.image.source': 'https://github.example.com/octo-org/app',
      'org.opencontainers.image.version': 'pr-9',
      'org.opencontainers.image.created': '2026-01-02T03:04:05.678Z',
      'org.opencontainers.image.revision': '1111111111111111111111111111111111111111',
      'org.opencontainers.image.licenses': 'MIT',
    });
  });

  it('uses the PR head commit as revision when asked', () => {
    expect(ociLabels(CONTEXT, { version: 'pr-9', clock: CLOCK, prHeadSha: true })[OCI_LABELS.revision]).toBe(
      '2222222222222222222222222222222222222222',
    );
  });

  it('leaves out what is unknown rather than writing empty labels', () => {
    const bare = {
      ...CONTEXT,
      repository: { ...CONTEXT.repository, description: undefined, license: undefined },
    };
    const labels = ociLabels(bare, { version: '', clock: CLOCK });
    expect(Object.keys(labels).sort()).toEqual(
      [OCI_LABELS.title, OCI_LABELS.url, OCI_LABELS.source, OCI_LABELS.created, OCI_LABELS.revision].sort(),
    );
  });

  it("lets the user's labels win, as a record or as key=value pairs", () => {
    expect(
      ociLabels(CONTEXT, {
        version: '1',
        clock: CLOCK,
        extra: { [OCI_LABELS.title]: 'Voyage', team: 'travel' },
      }),
    ).toMatchObject({ [OCI_LABELS.title]: 'Voyage', team: 'travel', [OCI_LABELS.version]: '1' });
    expect(
      ociLabels(CONTEXT, { version: '1', clock: CLOCK, extra: [[OCI_LABELS.licenses, 'Apache-2.0']] })[
        OCI_LABELS.licenses
      ],
    ).toBe('Apache-2.0');
  });
});
