import { beforeAll, describe, expect, it } from '@jest/globals';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let eslint: ESLint;

beforeAll(() => {
  // The repository's own eslint.config.js, narrowed to the import rule: the snippets below are not
  // files of the TypeScript project, so type-aware parsing is turned off for them.
  eslint = new ESLint({
    cwd: repoRoot,
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
    overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  });
});

/** The import-rule messages ESLint reports for `source` imported from a file at `filePath`. */
async function importErrors(filePath: string, source: string): Promise<string[]> {
  const code = `import { thing } from '${source}';\nexport const used = thing;\n`;
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, filePath) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('package order action-* → release/scan/image → kube/github → core', () => {
  it.each([
    [
      'packages/core/src/x.ts',
      '@dreamscape/release',
      'packages/core (src, bin) may import no @dreamscape package',
    ],
    ['packages/kube/src/x.ts', '@dreamscape/release', 'may import only @dreamscape/core'],
    [
      'packages/release/src/x.ts',
      '@dreamscape/image',
      'may import only @dreamscape/kube, @dreamscape/github',
    ],
    ['packages/github/src/x.ts', '@dreamscape/kube', 'may import only @dreamscape/core'],
    ['packages/scan/src/x.ts', '@dreamscape/action-scan', 'packages/scan (src, bin) may import only'],
    ['packages/core/__tests__/x.test.ts', '@dreamscape/release', 'Tests of packages/core may import only'],
    ['packages/release/src/x.ts', '../../kube/src/kubectl.js', 'never by a relative path'],
    [
      'packages/reliability/__tests__/x.test.ts',
      '../../scan/__tests__/support/x.js',
      'never by a relative path',
    ],
    ['action-scan/__tests__/x.test.ts', '../../packages/scan/src/index.js', 'never by a relative path'],
  ])('%s may not import %s', async (file, source, message) => {
    const errors = await importErrors(file, source);
    expect(errors).toEqual([expect.stringContaining(message)]);
  });

  it.each([
    ['packages/kube/src/x.ts', '@dreamscape/core'],
    ['packages/release/src/x.ts', '@dreamscape/kube'],
    ['packages/image/src/x.ts', '@dreamscape/github'],
    ['action-deploy/src/main.ts', '@dreamscape/release'],
    ['packages/release/__tests__/x.test.ts', '../src/index.js'],
    ['packages/release/__tests__/support/x.ts', '../../src/index.js'],
  ])('%s may import %s', async (file, source) => {
    expect(await importErrors(file, source)).toEqual([]);
  });
});

describe('test-side packages', () => {
  it.each([
    ['packages/kube/src/x.ts', '@dreamscape/kube-double'],
    ['packages/release/src/x.ts', '@dreamscape/testkit'],
    ['action-deploy/src/x.ts', '@dreamscape/testkit'],
    ['action-deploy/src/main.ts', '@dreamscape/kube-double'],
    ['packages/kube-double/src/x.ts', '@dreamscape/testkit'],
    ['packages/testkit/src/x.ts', '@dreamscape/reliability'],
    ['packages/testkit/src/x.ts', '@dreamscape/testkit'],
  ])('%s may not import %s', async (file, source) => {
    const errors = await importErrors(file, source);
    expect(errors).toEqual([expect.stringContaining(`'${source}' import is restricted`)]);
  });

  it.each([
    ['packages/kube-double/src/x.ts', '@dreamscape/kube'],
    ['packages/testkit/src/x.ts', '@dreamscape/kube-double'],
    ['packages/testkit/src/x.ts', '@dreamscape/release'],
    ['packages/reliability/src/x.ts', '@dreamscape/testkit'],
    ['packages/kube/__tests__/x.test.ts', '@dreamscape/kube-double'],
    ['packages/core/__tests__/x.test.ts', '@dreamscape/testkit'],
    ['action-deploy/__tests__/x.test.ts', '@dreamscape/testkit'],
    ['packages/github/__tests__/x.test.ts', '@dreamscape/testkit/platform-repository'],
  ])('%s may import %s', async (file, source) => {
    expect(await importErrors(file, source)).toEqual([]);
  });
});

describe('@actions/core stays at the edge', () => {
  it('is refused in a package and allowed in main.ts and the actions adapter', async () => {
    expect(await importErrors('packages/kube/src/x.ts', '@actions/core')).toEqual([
      expect.stringContaining('Only action-*/src/main.ts and packages/core/src/actions-adapter.ts'),
    ]);
    expect(await importErrors('action-build/src/main.ts', '@actions/core')).toEqual([]);
    expect(await importErrors('packages/core/src/actions-adapter.ts', '@actions/core')).toEqual([]);
  });
});
