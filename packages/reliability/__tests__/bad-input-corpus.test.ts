import { describe, expect, it } from '@jest/globals';
import { readlinkSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@dreamscape/testkit';
import {
  caseInputs,
  expand,
  loadCorpus,
  loadCorpusDir,
  makeCaseWorkspace,
  makeOutsideDir,
  refusalProblems,
  type BadInputCase,
} from '../src/bad-input-corpus.js';

const places = { marker: '/tmp/m', outside: '/tmp/o' };
const sample: BadInputCase = {
  action: 'deploy',
  name: 'x',
  inputs: { app: '$(touch {{marker}})' },
  input: 'app',
  error: 'invalid value',
};

describe('the bad-input corpus', () => {
  it('loads the corpus file: every case names an action, an input and a valid pattern', () => {
    const corpus = loadCorpusDir(join(repoRoot, 'packages/reliability/fixtures/bad-inputs'));
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(new Set(corpus.map((c) => `${c.action}: ${c.name}`)).size).toBe(corpus.length);
    expect(corpus.filter((c) => JSON.stringify(c.inputs).includes('{{marker}}')).length).toBeGreaterThan(20);
  });

  it('refuses a corpus file with a case that cannot be judged', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ds-corpus-')), 'c.json');
    writeFileSync(
      file,
      JSON.stringify({ cases: [{ action: 'deploy', name: 'n', inputs: { a: 'b' }, input: 'a' }] }),
    );
    expect(() => loadCorpus(file)).toThrow('needs name, input and error');
    writeFileSync(file, JSON.stringify({ cases: [{ ...sample, action: 'launch' }] }));
    expect(() => loadCorpus(file)).toThrow('unknown action');
  });

  it('refuses a corpus directory that writes one case twice', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-corpus-dir-'));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ cases: [sample] }));
    expect(loadCorpusDir(dir)).toHaveLength(1);
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ cases: [sample] }));
    expect(() => loadCorpusDir(dir)).toThrow('the case "deploy: x" is written twice');
  });

  it('fills the placeholders', () => {
    expect(caseInputs(sample, places)).toEqual({ app: '$(touch /tmp/m)' });
    expect(expand('{{outside}}/x {{long}}', places)).toBe(`/tmp/o/x ${'x'.repeat(501)}`);
  });

  it('builds a workspace with the files and links a case asks for', () => {
    const outside = makeOutsideDir();
    const ws = makeCaseWorkspace(
      {
        ...sample,
        workspace: { files: { 'a/Dockerfile': 'FROM scratch\n' }, links: { k8s: '{{outside}}' } },
      },
      { marker: '/tmp/m', outside },
    );
    expect(ws).toBeDefined();
    expect(readFileSync(join(ws ?? '', 'a/Dockerfile'), 'utf8')).toBe('FROM scratch\n');
    expect(readlinkSync(join(ws ?? '', 'k8s'))).toBe(outside);
    expect(readFileSync(join(ws ?? '', 'k8s/overlay/kustomization.yaml'), 'utf8')).toContain('Kustomization');
    expect(makeCaseWorkspace(sample, places)).toBeUndefined();
  });

  it('accepts a clear refusal naming the input, and nothing less', () => {
    const clear = ['Input \'app\' has an invalid value "$(touch /tmp/m)". Accepted: a lowercase name'];
    expect(refusalProblems(sample, { exitCode: 1, errors: clear })).toEqual([]);
    expect(refusalProblems(sample, { exitCode: 0, errors: [] })).toEqual([
      'exit code 0, expected 1',
      'no error message',
    ]);
    expect(
      refusalProblems(sample, { exitCode: 1, errors: ["Input 'environment' has an invalid value"] })[0],
    ).toMatch(/does not name the input 'app'/);
    expect(
      refusalProblems(sample, {
        exitCode: 1,
        errors: ["Input 'app' has an invalid value: TypeError: Cannot read properties of undefined"],
      }),
    ).toEqual([expect.stringMatching(/an internal error instead of a clear message/)]);
  });
});
