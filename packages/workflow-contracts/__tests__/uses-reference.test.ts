import { describe, expect, it } from '@jest/globals';
import { parseUses } from '../src/index.js';

describe('parseUses', () => {
  it.each([
    [
      'dreamscape/actions/action-build@v1',
      { kind: 'our-action', dir: 'action-build', ref: 'v1', self: false },
    ],
    [
      'dreamscape/actions/.github/workflows/deploy.yml@v1',
      { kind: 'our-workflow', path: '.github/workflows/deploy.yml', ref: 'v1', self: false },
    ],
    ['$/action-build', { kind: 'our-action', dir: 'action-build', ref: '', self: true }],
    ['$/./action-scan/', { kind: 'our-action', dir: 'action-scan', ref: '', self: true }],
    [
      '$/.github/workflows/build-scan.yml',
      { kind: 'our-workflow', path: '.github/workflows/build-scan.yml', ref: '', self: true },
    ],
    ['./action-scan', { kind: 'local', path: 'action-scan' }],
    ['docker://alpine@sha256:abc', { kind: 'docker', image: 'alpine@sha256:abc' }],
    [
      'github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e',
      {
        kind: 'third-party',
        repository: 'github/codeql-action',
        path: 'upload-sarif',
        ref: '8aad20d150bbac5944a9f9d289da16a4b0d87c1e',
      },
    ],
    ['actions/checkout', { kind: 'third-party', repository: 'actions/checkout', path: '', ref: '' }],
  ])('%s', (uses, expected) => {
    expect(parseUses(uses)).toEqual(expected);
  });
});
