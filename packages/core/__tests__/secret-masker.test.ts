import { describe, expect, it } from '@jest/globals';
import { SecretMasker } from '../src/index.js';

describe('SecretMasker', () => {
  it('redacts the secret and its common encodings', () => {
    const m = new SecretMasker();
    m.add('p@ss "word"/1');
    const b64 = Buffer.from('p@ss "word"/1').toString('base64');
    const text = `raw p@ss "word"/1 json ${JSON.stringify('p@ss "word"/1')} url ${encodeURIComponent('p@ss "word"/1')} b64 ${b64}`;
    const out = m.redact(text);
    expect(out).not.toContain('p@ss');
    expect(out).not.toContain(b64);
    expect(out).not.toContain('p%40ss');
  });

  it('masks each line of a multi-line secret and ignores tiny values', () => {
    const m = new SecretMasker();
    m.add('line-one\nline-two');
    m.add('ab');
    expect(m.redact('x line-two y ab')).toBe('x *** y ab');
  });

  it('treats regex characters literally', () => {
    const m = new SecretMasker();
    m.add('a.b*c+d');
    expect(m.redact('aXbbbc+d a.b*c+d')).toBe('aXbbbc+d ***');
  });
});
