import { describe, expect, it } from '@jest/globals';
import {
  DocumentError,
  FILE_DOCUMENT_LIMITS,
  INPUT_DOCUMENT_LIMITS,
  inputsFrom,
  InputError,
  parseJsonDocument,
  parseYamlDocument,
  parseYamlText,
  readYaml,
  type DocumentLimits,
} from '../src/index.js';

/** "Billion laughs": `levels` anchors, each a list of `width` aliases of the one before. */
function yamlBomb(levels = 9, width = 9): string {
  const lines = [`l0: &l0 [${Array<string>(width).fill('"lol"').join(', ')}]`];
  for (let i = 1; i < levels; i++)
    lines.push(
      `l${i}: &l${i} [${Array<string>(width)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n');
}

function nestedYaml(levels: number): string {
  return `${'['.repeat(levels)}1${']'.repeat(levels)}`;
}

function caught(f: () => unknown): DocumentError {
  try {
    f();
  } catch (error) {
    if (error instanceof DocumentError) return error;
    throw error;
  }
  throw new Error('expected a DocumentError');
}

/** Small limits, so that each boundary is easy to reach exactly. */
const SMALL: DocumentLimits = { maxBytes: 200, maxDepth: 4, maxAliases: 3, maxNodes: 20 };

describe('parseYamlDocument', () => {
  it('refuses a billion-laughs document, naming the source and the alias limit', () => {
    const e = caught(() => parseYamlDocument(yamlBomb(), "Input 'health-checks'", INPUT_DOCUMENT_LIMITS));
    expect(e.kind).toBe('maxAliases');
    expect(e.message).toMatch(
      /^Input 'health-checks': too many aliases: more than the limit of 64 \(\*name\) at line \d+$/,
    );
    expect(e.hint).toBe(
      'Accepted: at most 100 KiB, 32 levels of nesting, 64 aliases and 10000 values with aliases expanded.',
    );
  }, 10_000);

  it('refuses a bomb that stays within the alias count by what its aliases expand to', () => {
    // 30 levels of two aliases each: 60 aliases, 2^30 values.
    const e = caught(() => parseYamlDocument(yamlBomb(31, 2), 'bomb.yaml', INPUT_DOCUMENT_LIMITS));
    expect(e.kind).toBe('maxNodes');
    expect(e.message).toBe('bomb.yaml: too many values: more than the limit of 10000 with aliases expanded');
  });

  it('hits the alias limit exactly at the boundary', () => {
    const aliases = (n: number): string => `a: &a 1\nb: [${Array<string>(n).fill('*a').join(', ')}]`;
    expect(parseYamlDocument(aliases(3), 'x', SMALL)).toEqual({ a: 1, b: [1, 1, 1] });
    expect(caught(() => parseYamlDocument(aliases(4), 'x', SMALL)).kind).toBe('maxAliases');
  });

  it('hits the depth limit exactly at the boundary, while parsing and through aliases', () => {
    expect(parseYamlDocument(nestedYaml(4), 'x', SMALL)).toEqual([[[[1]]]]);
    const e = caught(() => parseYamlDocument(nestedYaml(5), 'x', SMALL));
    expect(e.kind).toBe('maxDepth');
    expect(e.problem).toMatch(/^nested too deeply: more than the limit of 4 levels/);
    // No part is more than 3 levels deep; the alias puts one inside the other: 5 as a reader sees it.
    const throughAlias = 'a: &a [[1]]\nb: [[*a]]';
    const limits = { ...SMALL, maxNodes: 100 };
    expect(caught(() => parseYamlDocument(throughAlias, 'x', limits)).problem).toBe(
      'nested too deeply: more than the limit of 4 levels (aliases expanded)',
    );
    expect(parseYamlDocument('a: &a [[1]]\nb: [*a]', 'x', limits)).toEqual({ a: [[1]], b: [[[1]]] });
  });

  it('hits the value limit exactly at the boundary, counting what aliases expand to', () => {
    // The top mapping, the list and its 18 numbers: 20 values.
    const list = (n: number): string => `a: [${Array.from({ length: n }, (_, i) => i).join(', ')}]`;
    expect(parseYamlDocument(list(18), 'x', SMALL)).toEqual({ a: Array.from({ length: 18 }, (_, i) => i) });
    expect(caught(() => parseYamlDocument(list(19), 'x', SMALL)).kind).toBe('maxNodes');
    // 1 mapping + (1 list + 5 numbers) + 2 aliases of that list (6 each) = 19, then 25.
    expect(parseYamlDocument('a: &a [1, 2, 3, 4, 5]\nb: *a\nc: [*a]', 'x', SMALL)).toBeDefined();
    expect(
      caught(() => parseYamlDocument('a: &a [1, 2, 3, 4, 5]\nb: *a\nc: [*a, *a]', 'x', SMALL)).kind,
    ).toBe('maxNodes');
  });

  it('hits the size limit exactly at the boundary, in UTF-8 bytes', () => {
    const text = (bytes: number): string => `a: "${'x'.repeat(bytes - 5)}"`;
    expect(parseYamlDocument(text(200), 'x', SMALL)).toEqual({ a: 'x'.repeat(195) });
    const e = caught(() => parseYamlDocument(text(201), 'x', SMALL));
    expect(e.kind).toBe('maxBytes');
    expect(e.problem).toBe('too large: 201 bytes, more than the limit of 200 bytes');
    // 67 three-byte characters and two quotes: 203 bytes, though only 69 characters.
    expect(caught(() => parseYamlDocument(`"${'€'.repeat(67)}"`, 'x', SMALL)).kind).toBe('maxBytes');
  });

  it('refuses an alias inside what it refers to, which would send a reader round for ever', () => {
    const e = caught(() => parseYamlDocument('a: &a [1, *a]', 'x', SMALL));
    expect(e.kind).toBe('cycle');
    expect(e.message).toBe('x: an alias inside the collection it refers to (a collection that holds itself)');
  });

  it('reports a syntax error with its line, and keeps the core schema (no !!js tags)', () => {
    const e = caught(() => parseYamlDocument('a: 1\nb: [x', 'x', SMALL));
    expect(e.kind).toBe('syntax');
    expect(e.problem).toMatch(/^YAML error: .* at line \d$/);
    expect(caught(() => parseYamlDocument("a: !!js/function 'function () {}'", 'x', SMALL)).kind).toBe(
      'syntax',
    );
  });

  it('accepts a large but legal document, anchors included', () => {
    const checks = Array.from(
      { length: 500 },
      (_, i) =>
        `- name: check-${i}\n  service: web\n  path: /health/${i}\n  interval: 2s\n  expect-status: [200, 204]`,
    ).join('\n');
    const text = `defaults: &defaults {interval: 2s, timeout: 5s}\nchecks:\n${checks.replace(/^/gm, '  ')}\nshared: [*defaults, *defaults]`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(40_000);
    const value = parseYamlDocument(text, 'checks.yaml') as { checks: unknown[]; shared: unknown[] };
    expect(value.checks).toHaveLength(500);
    expect(value.shared).toEqual([
      { interval: '2s', timeout: '5s' },
      { interval: '2s', timeout: '5s' },
    ]);
  });
});

describe('parseJsonDocument', () => {
  it('hits the depth limit exactly at the boundary, before building the value', () => {
    expect(parseJsonDocument('[[[{"a": 1}]]]', 'x', SMALL)).toEqual([[[{ a: 1 }]]]);
    const e = caught(() => parseJsonDocument('[[[[{"a": 1}]]]]', 'x', SMALL));
    expect(e.kind).toBe('maxDepth');
    expect(e.problem).toBe('nested too deeply: more than the limit of 4 levels (at character 5)');
    // Brackets inside strings (escaped quotes included) are text, not nesting.
    expect(parseJsonDocument('{"a": "[[[[[\\"{{{{"}', 'x', SMALL)).toEqual({ a: '[[[[["{{{{' });
  });

  it('refuses 100000 levels of nesting quickly and without a stack overflow', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const e = caught(() => parseJsonDocument(deep, "Input 'images'", { ...FILE_DOCUMENT_LIMITS }));
    expect(e.message).toBe(
      "Input 'images': nested too deeply: more than the limit of 32 levels (at character 33)",
    );
  });

  it('hits the value and size limits at the boundary', () => {
    const list = (n: number): string => JSON.stringify(Array.from({ length: n }, () => 1));
    expect(parseJsonDocument(list(19), 'x', SMALL)).toHaveLength(19);
    expect(caught(() => parseJsonDocument(list(20), 'x', SMALL)).kind).toBe('maxNodes');
    const text = (bytes: number): string => JSON.stringify('x'.repeat(bytes - 2));
    expect(parseJsonDocument(text(200), 'x', SMALL)).toHaveLength(198);
    expect(caught(() => parseJsonDocument(text(201), 'x', SMALL)).kind).toBe('maxBytes');
  });

  it('reports a syntax error as a JSON error', () => {
    const e = caught(() => parseJsonDocument('{"image": ', 'x', SMALL));
    expect(e.kind).toBe('syntax');
    expect(e.problem).toMatch(/^JSON error: /);
  });
});

describe('readYaml and parseYamlText', () => {
  it('refuses an alias bomb in an input with an InputError naming the input and the limit', () => {
    let error: unknown;
    try {
      readYaml(inputsFrom({ 'health-checks': yamlBomb() }), 'health-checks', 'a YAML list of health checks');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const e = error as InputError;
    expect(e.input).toBe('health-checks');
    expect(e.message).toMatch(
      /^Input 'health-checks' has an invalid value "l0: &l0 .*…": too many aliases: more than the limit of 64 \(\*name\) at line \d+\. Accepted: a YAML list of health checks\.$/s,
    );
    expect(e.describe()).toContain('Hint: Accepted: at most 100 KiB, 32 levels of nesting, 64 aliases');
  });

  it('bounds text that was an input once (checks recorded with a release) the same way', () => {
    expect(caught(() => parseYamlText(yamlBomb(), 'the checks recorded with revision 3')).message).toMatch(
      /^the checks recorded with revision 3: too many aliases/,
    );
  });
});
