import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { excerptMismatch, sectionExcerpts } from '../src/index.js';
import { root } from './support.js';

describe("the README's Workflows section", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const excerpts = sectionExcerpts(readme, 'Workflows');

  it('shows the starter workflows', () => {
    expect(excerpts.map((e) => e.path)).toEqual(
      expect.arrayContaining(['workflows/dreamscape-pipeline.yml', 'workflows/dreamscape-rollback.yml']),
    );
  });

  it.each(excerpts.map((e) => [`${e.path} (README line ${e.line})`, e] as const))(
    'the block showing %s is taken from that file',
    (_name, excerpt) => {
      expect(excerptMismatch(excerpt, readFileSync(join(root, excerpt.path), 'utf8'))).toBeUndefined();
    },
  );
});

describe('excerptMismatch', () => {
  const file = ['a: 1', 'b:', '  c: 2', '  d: 3', 'e: 4'].join('\n');
  const excerpt = (lines: string[]) => ({ path: 'f.yml', line: 1, lines });

  it('accepts contiguous runs in order, with # … for omitted lines', () => {
    expect(excerptMismatch(excerpt(['b:', '  c: 2']), file)).toBeUndefined();
    expect(excerptMismatch(excerpt(['a: 1', '# …', '  d: 3', 'e: 4']), file)).toBeUndefined();
  });

  it('refuses changed, reordered or non-contiguous lines', () => {
    expect(excerptMismatch(excerpt(['b:', '  c: 20']), file)).toMatch(/these lines are not in f\.yml/);
    expect(excerptMismatch(excerpt(['e: 4', '# …', 'a: 1']), file)).toMatch(/a: 1/);
    expect(excerptMismatch(excerpt(['a: 1', '  c: 2']), file)).toMatch(/not in f\.yml/);
  });

  it('needs each block to name its file', () => {
    expect(() => sectionExcerpts('## Workflows\n\n```yaml\non: push\n```\n', 'Workflows')).toThrow(
      "does not start with '# <file>.yml'",
    );
    expect(() => sectionExcerpts('# Title\n', 'Workflows')).toThrow("no section '## Workflows'");
  });
});
