import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The direction of dependencies (docs/DESIGN.md): `action-* → release/scan/image → kube/github → core`.
 * Each production package lists the packages it may import: only those to its right.
 */
const PRODUCTION = {
  core: [],
  kube: ['core'],
  github: ['core'],
  image: ['kube', 'github', 'core'],
  scan: ['kube', 'github', 'core'],
  release: ['kube', 'github', 'core'],
};
const PRODUCTION_NAMES = Object.keys(PRODUCTION);

/**
 * Test-side packages: harnesses, doubles and suites. They sit left of the production packages they
 * use (production code and the actions' src never import them): the kube-double just left of kube,
 * testkit left of the kube-double, the suites left of testkit. The root bench/ and scripts/ (the
 * demo) are tooling outside the order and may import any package.
 */
const TEST_SIDE = {
  'kube-double': ['core', 'kube'],
  testkit: [...PRODUCTION_NAMES, 'kube-double'],
  reliability: [...PRODUCTION_NAMES, 'kube-double', 'testkit'],
  'workflow-contracts': [...PRODUCTION_NAMES, 'kube-double', 'testkit'],
  'demo-tests': [...PRODUCTION_NAMES, 'kube-double', 'testkit'],
};

/** What a package's tests and benchmarks may use beyond its own code and what that code may import. */
const TEST_HARNESSES = ['testkit', 'kube-double'];

const PACKAGES = { ...PRODUCTION, ...TEST_SIDE };
const ACTIONS_ONLY = {
  group: ['@actions/core', '@actions/exec'],
  message:
    'Only action-*/src/main.ts and packages/core/src/actions-adapter.ts may use @actions/core or @actions/exec.',
};

/** `@dreamscape/<name>` and its subpaths, for every name outside `allowed` (and every action). */
function packageImports(who, allowed) {
  const banned = Object.keys(PACKAGES).filter((name) => !allowed.includes(name));
  return {
    regex: `^@dreamscape/(?:${[...banned, 'action-[^/]+'].join('|')})(?:/|$)`,
    message:
      `${who} may import ${allowed.length > 0 ? `only ${allowed.map((n) => `@dreamscape/${n}`).join(', ')}` : 'no @dreamscape package'}` +
      ' (package order: action-* → release/scan/image → kube/github → core; production code never imports a test-side package).',
  };
}

/** Relative paths that climb out of `self` into another package or action (`../../kube/src/x.js`). */
function relativeEscapes(self) {
  const others = Object.keys(PACKAGES).filter((name) => name !== self);
  return {
    regex: self.startsWith('action-')
      ? '^(?:\\.\\./)+(?:packages|action-[^/]+)/'
      : `^(?:\\.\\./)+(?:packages/)?(?:${[...others, 'action-[^/]+'].join('|')})/`,
    message: 'Import another package by its @dreamscape name, never by a relative path into its folder.',
  };
}

function restrictImports(patterns) {
  return { 'no-restricted-imports': ['error', { patterns }] };
}

/**
 * One block per package area. Each repeats the @actions restriction (a later block's options replace
 * an earlier one's) except where it is lifted: main.ts, the actions adapter and the action tests.
 */
function layering() {
  const blocks = [];
  const area = (files, layer, actionsAllowed = []) => {
    blocks.push({ files, rules: restrictImports([ACTIONS_ONLY, ...layer]) });
    if (actionsAllowed.length > 0) blocks.push({ files: actionsAllowed, rules: restrictImports(layer) });
  };
  for (const [name, allowed] of Object.entries(PACKAGES)) {
    const code = [`packages/${name}/src/**`, `packages/${name}/bin/**`];
    const tests = [`packages/${name}/__tests__/**`, `packages/${name}/bench/**`];
    const testAllowed = [...new Set([name, ...allowed, ...TEST_HARNESSES])];
    area(
      code,
      [packageImports(`packages/${name} (src, bin)`, allowed), relativeEscapes(name)],
      name === 'core' ? ['packages/core/src/actions-adapter.ts'] : [],
    );
    area(tests, [packageImports(`Tests of packages/${name}`, testAllowed), relativeEscapes(name)]);
  }
  area(
    ['action-*/src/**'],
    [packageImports('action-*/src', PRODUCTION_NAMES), relativeEscapes('action-')],
    ['action-*/src/main.ts'],
  );
  blocks.push({
    files: ['action-*/__tests__/**'],
    rules: restrictImports([
      packageImports('Action tests', [...PRODUCTION_NAMES, ...TEST_HARNESSES]),
      relativeEscapes('action-'),
    ]),
  });
  return blocks;
}

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', '.tmp/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bench/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      ...restrictImports([ACTIONS_ONLY]),
    },
  },
  ...layering(),
  {
    files: ['**/__tests__/**', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    // Keep disableTypeChecked's parserOptions (no project service) for .js anywhere in the tree.
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { ...globals.node } },
  },
);
