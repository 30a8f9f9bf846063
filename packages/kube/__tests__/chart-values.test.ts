import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { InputError } from '@dreamscape/core';
import { requireTool } from '@dreamscape/testkit';
import { readChartValues, valuesDigest, VALUES_LIMITS } from '../src/chart-values.js';

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'chart-values-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function refusal(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('valuesDigest', () => {
  it('frames every part, so different lists never hash the same', () => {
    const a = Buffer.from('a: 1\n');
    const b = Buffer.from('b: 2\n');
    const digests = [
      valuesDigest([a, b], []),
      valuesDigest([Buffer.concat([a, b])], []),
      valuesDigest([b, a], []),
      valuesDigest([], ['a=1', 'b=2']),
      valuesDigest([], ['a=1,b=2']),
      valuesDigest([Buffer.from('a=1')], []),
      valuesDigest([], ['a=1']),
      valuesDigest([], []),
    ];
    expect(new Set(digests).size).toBe(digests.length);
    for (const d of digests) expect(d).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(valuesDigest([Buffer.from('a: 1\n')], ['x=y'])).toBe(valuesDigest([a], ['x=y']));
  });
});

describe('readChartValues', () => {
  it('reads the files in order and digests their bytes, not their names', () => {
    const ws = workspace({
      'one.yaml': 'a: 1\n',
      'two.yaml': 'b: 2\n',
      'copy.yaml': 'a: 1\n',
      'empty.yaml': '',
      'comment.yaml': '# nothing\n',
    });
    const values = readChartValues(['one.yaml', 'two.yaml', 'empty.yaml', 'comment.yaml'], ['c=3'], ws);
    expect(values.files.map((f) => f.content.toString())).toEqual(['a: 1\n', 'b: 2\n', '', '# nothing\n']);
    expect(values.set).toEqual(['c=3']);
    expect(readChartValues(['copy.yaml', 'two.yaml', 'empty.yaml', 'comment.yaml'], ['c=3'], ws).digest).toBe(
      values.digest,
    );
  });

  it('refuses a values file over the size limit, a FIFO and a scalar document', () => {
    const ws = workspace({
      'big.yaml': `a: "${'x'.repeat(VALUES_LIMITS.fileBytes)}"\n`,
      'scalar.yaml': 'just a string\n',
      'two.yaml': 'a: 1\n---\nb: 2\n',
    });
    expect(refusal(() => readChartValues(['two.yaml'], [], ws)).message).toContain(
      'two.yaml holds 2 YAML documents; a values file is one',
    );
    expect(refusal(() => readChartValues(['big.yaml'], [], ws)).message).toContain(
      `more than the ${VALUES_LIMITS.fileBytes} a values file may have`,
    );
    execFileSync(requireTool('mkfifo'), [join(ws, 'fifo.yaml')]);
    expect(refusal(() => readChartValues(['fifo.yaml'], [], ws)).message).toContain('is not a regular file');
    expect(refusal(() => readChartValues(['scalar.yaml'], [], ws)).message).toContain(
      'scalar.yaml is a string value, not a mapping of values',
    );
  });

  it('names the file and the line of a YAML error, and refuses repeated keys', () => {
    const ws = workspace({ 'dup.yaml': 'a: 1\nb: 2\na: 3\n' });
    const error = refusal(() => readChartValues(['dup.yaml'], [], ws));
    expect(error.input).toBe('values');
    expect(error.message).toContain('dup.yaml is not valid YAML at line 3');
  });
});
