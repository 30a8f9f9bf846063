import { describe, expect, it } from '@jest/globals';
import { maskSecrets, parseFileCommand, workflowCommands } from '../../src/executor/runner-files.js';

describe('parseFileCommand', () => {
  it('reads name=value lines and name<<DELIMITER blocks, as the runner does', () => {
    const text = 'a=1\n\nb=x=y\nrecords<<EOF\n{"a":\n 1}\nEOF\nc<<=\nkept\n=\nd=\r\n';
    expect(Object.fromEntries(parseFileCommand(text, 'GITHUB_OUTPUT'))).toEqual({
      a: '1',
      b: 'x=y',
      records: '{"a":\n 1}',
      c: 'kept',
      d: '',
    });
  });

  it('fails like the runner on a line of neither form, an empty name, or a delimiter never found', () => {
    expect(() => parseFileCommand('just text\n', 'GITHUB_ENV')).toThrow(
      "Invalid format 'just text' in GITHUB_ENV",
    );
    expect(() => parseFileCommand('=value\n', 'GITHUB_ENV')).toThrow('the name is empty');
    expect(() => parseFileCommand('x<<EOF\nline\n', 'GITHUB_OUTPUT')).toThrow(
      "Matching delimiter not found 'EOF'",
    );
  });
});

describe('workflowCommands', () => {
  it('reads commands at the start of a line (after spaces), with escaped data and properties', () => {
    const out =
      '  ::error title=A%3A B%2C C,file=x.sh::first%0Asecond %25\nnot ::warning::here\n::set-output name=x::1\n';
    expect(workflowCommands(out)).toEqual([
      { command: 'error', properties: { title: 'A: B, C', file: 'x.sh' }, data: 'first\nsecond %' },
      { command: 'set-output', properties: { name: 'x' }, data: '1' },
    ]);
  });

  it('ignores everything between ::stop-commands::TOKEN and ::TOKEN::', () => {
    const out = '::stop-commands::t0k\n::set-output name=x::forged\n::t0k::\n::notice::back';
    expect(workflowCommands(out).map((c) => c.command)).toEqual(['notice']);
  });
});

describe('maskSecrets', () => {
  it('masks each secret and each long enough line of a multi-line one', () => {
    expect(maskSecrets('token abc123 and\nline-two here', ['abc123', 'x\nline-two'])).toBe(
      'token *** and\n*** here',
    );
    expect(maskSecrets('nothing', [''])).toBe('nothing');
  });
});
