import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '@dreamscape/core';
import { loadWaivers, parseWaivers, resolveInsideWorkspace, WaiverFileError } from '../src/index.js';

describe('parseWaivers', () => {
  it('reads a list with dates as YAML dates or quoted text, package optional', () => {
    const waivers = parseWaivers(
      [
        'waivers:',
        '  - id: CVE-2019-18224',
        '    package: libidn2-0',
        '    reason: Not reachable, no IDN input',
        '    owner: "@platform-team"',
        '    expires: 2030-01-31',
        '  - id: GHSA-cfh5-3ghh-wfjx',
        '    reason: vendor patch',
        '    owner: alice',
        "    expires: '2031-12-01'",
      ].join('\n'),
      '.github/waivers.yml',
    );
    expect(waivers).toEqual([
      {
        id: 'CVE-2019-18224',
        package: 'libidn2-0',
        reason: 'Not reachable, no IDN input',
        owner: '@platform-team',
        expires: '2030-01-31',
        expiresAt: Date.parse('2030-02-01T00:00:00Z'),
      },
      {
        id: 'GHSA-cfh5-3ghh-wfjx',
        package: undefined,
        reason: 'vendor patch',
        owner: 'alice',
        expires: '2031-12-01',
        expiresAt: Date.parse('2031-12-02T00:00:00Z'),
      },
    ]);
  });

  it('accepts a top-level list and an empty file', () => {
    expect(parseWaivers('- {id: CVE-1, reason: r, owner: o, expires: 2030-01-01}', 'w.yml')).toHaveLength(1);
    expect(parseWaivers('', 'w.yml')).toEqual([]);
    expect(parseWaivers('waivers:', 'w.yml')).toEqual([]);
  });

  it.each([
    [
      '- {id: CVE-1, owner: o, expires: 2030-01-01}',
      "Waivers file w.yml, entry 1 (CVE-1): 'reason' is required",
    ],
    [
      '- {id: CVE-1, reason: r, expires: 2030-01-01}',
      "Waivers file w.yml, entry 1 (CVE-1): 'owner' is required",
    ],
    [
      '- {id: CVE-1, reason: r, owner: o, expires: 2030-01-01}\n- {id: CVE-2, reason: r, owner: o, expires: next week}',
      'Waivers file w.yml, entry 2 (CVE-2): \'expires\' must be a date like 2026-12-31, got "next week"',
    ],
    [
      '- {id: CVE-1, reason: r, owner: o}',
      "entry 1 (CVE-1): 'expires' must be a date like 2026-12-31, got nothing",
    ],
    [
      "- {id: CVE-1, reason: r, owner: o, expires: '2030-02-30'}",
      "entry 1 (CVE-1): 'expires' must be a date",
    ],
    [
      '- {id: CVE-1, reason: r, owner: o, expires: 2030-01-01, pakage: x}',
      "entry 1 (CVE-1): unknown key 'pakage'",
    ],
    ['- {reason: r, owner: o, expires: 2030-01-01}', "Waivers file w.yml, entry 1: 'id' is required"],
    ['- just a string', 'Waivers file w.yml, entry 1: is not a mapping'],
    ['waivers: {id: CVE-1}', 'Waivers file w.yml: the top level is not a list of waivers'],
    ['- id: [unclosed', 'Waivers file w.yml: invalid YAML at line'],
  ])('refuses %j with an error naming the file and the entry', (text, message) => {
    expect(() => parseWaivers(text, 'w.yml')).toThrow(WaiverFileError);
    expect(() => parseWaivers(text, 'w.yml')).toThrow(message);
  });
});

describe('parseWaivers within bounds', () => {
  it('refuses an alias bomb in milliseconds, naming the input, the file and the limit', () => {
    const lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `l${i}: &l${i} [${Array<string>(9)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const started = Date.now();
    expect(() => parseWaivers(`${lines.join('\n')}\nwaivers: *l8`, 'w.yml')).toThrow(
      /^Input 'waivers': Waivers file w\.yml: too many values: more than the limit of 100000 with aliases expanded$/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a bomb within the alias count by what it expands to', () => {
    // 31 anchors of two aliases each: 60 aliases that stand for 2^30 values.
    const lines = ['l0: &l0 [x, x]'];
    for (let i = 1; i < 31; i++) lines.push(`l${i}: &l${i} [*l${i - 1}, *l${i - 1}]`);
    expect(() => parseWaivers(`${lines.join('\n')}\nwaivers: []`, 'w.yml')).toThrow(
      "Input 'waivers': Waivers file w.yml: too many values: more than the limit of 100000 with aliases expanded",
    );
  });

  it('refuses more aliases than the limit, even of a scalar', () => {
    const text = `- &id {id: CVE-1, reason: r, owner: o, expires: 2030-01-01}\n${'- *id\n'.repeat(257)}`;
    expect(() => parseWaivers(text, 'w.yml')).toThrow(
      /^Input 'waivers': Waivers file w\.yml: too many aliases: more than the limit of 256 \(\*name\) at line 258$/,
    );
    expect(
      parseWaivers(
        `- &id {id: CVE-1, reason: r, owner: o, expires: 2030-01-01}\n${'- *id\n'.repeat(256)}`,
        'w.yml',
      ),
    ).toHaveLength(257);
  });

  it('names another input when told', () => {
    expect(() => parseWaivers('waivers: {id: CVE-1}', 'w.yml', 'policy-waivers')).toThrow(
      "Input 'policy-waivers': Waivers file w.yml: the top level is not a list of waivers",
    );
  });

  it('refuses a file beyond 1 MiB by its size', () => {
    const workspace = mkdtempSync(join(tmpdir(), 'ds-ws-'));
    writeFileSync(join(workspace, 'big.yml'), `# ${'x'.repeat(1024 * 1024)}\n`);
    expect(() => loadWaivers(workspace, 'big.yml')).toThrow(
      "Input 'waivers': Waivers file big.yml: too large: 1048579 bytes, more than the limit of 1 MiB",
    );
  });
});

describe('resolveInsideWorkspace and loadWaivers', () => {
  const workspace = mkdtempSync(join(tmpdir(), 'ds-ws-'));
  const outside = mkdtempSync(join(tmpdir(), 'ds-outside-'));
  mkdirSync(join(workspace, '.github'));
  writeFileSync(
    join(workspace, '.github', 'waivers.yml'),
    '- {id: CVE-1, reason: r, owner: o, expires: 2030-01-01}\n',
  );
  writeFileSync(join(outside, 'waivers.yml'), '- {id: CVE-1, reason: r, owner: o, expires: 2030-01-01}\n');
  symlinkSync(join(outside, 'waivers.yml'), join(workspace, 'sneaky.yml'));

  it('loads a file inside the workspace', () => {
    expect(loadWaivers(workspace, '.github/waivers.yml').map((w) => w.id)).toEqual(['CVE-1']);
  });

  it('refuses paths that climb out, directly, absolutely or through a link', () => {
    expect(() => resolveInsideWorkspace(workspace, '../x/waivers.yml', 'waivers')).toThrow(InputError);
    expect(() => resolveInsideWorkspace(workspace, '../x/waivers.yml', 'waivers')).toThrow(
      'Input \'waivers\' has an invalid value "../x/waivers.yml": it points outside the workspace',
    );
    expect(() => resolveInsideWorkspace(workspace, join(outside, 'waivers.yml'), 'waivers')).toThrow(
      'it points outside the workspace',
    );
    expect(() => loadWaivers(workspace, 'sneaky.yml')).toThrow(
      'it leads outside the workspace through a link',
    );
  });

  it('says when the file does not exist', () => {
    expect(() => loadWaivers(workspace, 'missing.yml')).toThrow(
      `${join(workspace, 'missing.yml')} does not exist`,
    );
  });
});
