import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionRunResult } from '../src/action-runner.js';
import { filesUnder, findSecretLeaks } from '../src/secret-leaks.js';

const SECRET = 'hunter2-Secret/Value+9';

function result(fill: Partial<ActionRunResult>): ActionRunResult {
  return {
    exitCode: 0,
    signal: null,
    stdout: '',
    stderr: '',
    outputs: {},
    state: {},
    summary: '',
    dir: mkdtempSync(join(tmpdir(), 'ds-leaks-')),
    errors: [],
    durationMs: 0,
    ...fill,
  };
}

describe('findSecretLeaks', () => {
  it('finds nothing in a clean run, and ignores the ::add-mask:: lines the runner consumes', () => {
    const r = result({
      stdout: `::add-mask::${SECRET}\nlogged in as robot\n`,
      outputs: { image: 'x@sha256:1' },
    });
    expect(findSecretLeaks(r, { password: SECRET })).toEqual([]);
  });

  it('finds a secret in stdout, stderr, outputs and the summary, with the secret blanked in the context', () => {
    const r = result({
      stdout: `token is ${SECRET} here`,
      stderr: `error: ${SECRET}`,
      outputs: { url: `https://x/?t=${encodeURIComponent(SECRET)}` },
      summary: `| ${SECRET} |`,
    });
    const leaks = findSecretLeaks(r, { password: SECRET });
    expect(leaks.map((l) => [l.where, l.form])).toEqual([
      ['stdout', 'plain'],
      ['stderr', 'plain'],
      ['summary', 'plain'],
      ['outputs', 'url-encoded'],
    ]);
    expect(leaks[0]?.context).toBe('token is *** here');
  });

  it('finds a secret base64-encoded in a file left in the run directory or another directory', () => {
    const r = result({});
    mkdirSync(join(r.dir, 'runner-temp', 'creds'), { recursive: true });
    const auth = Buffer.from(`robot:${SECRET}`).toString('base64');
    writeFileSync(
      join(r.dir, 'runner-temp', 'creds', 'auth.json'),
      JSON.stringify({ auths: { r: { auth } } }),
    );
    const home = mkdtempSync(join(tmpdir(), 'ds-leaks-home-'));
    writeFileSync(join(home, '.netrc'), `password ${SECRET}`);
    const leaks = findSecretLeaks(r, { basic: `robot:${SECRET}`, password: SECRET }, [home]);
    expect(leaks.map((l) => [l.secret, l.form, l.where])).toEqual([
      ['basic', 'base64', join(r.dir, 'runner-temp', 'creds', 'auth.json')],
      ['password', 'plain', join(home, '.netrc')],
      // `robot:` is 6 bytes, so the password's own base64 shows inside that of `robot:<password>`.
      ['password', 'base64', join(r.dir, 'runner-temp', 'creds', 'auth.json')],
    ]);
    expect(filesUnder(home)).toEqual([join(home, '.netrc')]);
    expect(filesUnder(join(home, 'missing'))).toEqual([]);
  });

  it('refuses to search for a secret too short to mean anything', () => {
    expect(() => findSecretLeaks(result({}), { pin: '1234' })).toThrow('too short');
  });
});
