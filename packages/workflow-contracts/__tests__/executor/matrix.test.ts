import { describe, expect, it } from '@jest/globals';
import { expandMatrix } from '../../src/executor/matrix.js';

describe('expandMatrix', () => {
  it('multiplies the vectors in key order, then excludes, then includes as GitHub does', () => {
    const legs = expandMatrix({
      os: ['linux', 'mac'],
      node: [20, 24],
      exclude: [{ os: 'mac', node: 20 }],
      include: [
        { node: 24, experimental: true },
        { os: 'windows', node: 24 },
        { os: 'linux', color: 'green' },
      ],
    });
    expect(legs).toEqual([
      { os: 'linux', node: 20, color: 'green' },
      { os: 'linux', node: 24, experimental: true, color: 'green' },
      { os: 'mac', node: 24, experimental: true },
      { os: 'windows', node: 24 },
    ]);
  });

  it('takes a matrix of include entries only (what fromJSON of action-changes gives)', () => {
    expect(expandMatrix({ include: [{ name: 'a' }, { name: 'b' }] })).toEqual([{ name: 'a' }, { name: 'b' }]);
  });

  it('refuses an empty vector and a matrix with no combination', () => {
    expect(() => expandMatrix({ os: [] })).toThrow("Matrix vector 'os' does not contain any values");
    expect(() => expandMatrix({ include: [] })).toThrow('Matrix must define at least one vector');
    expect(() => expandMatrix('x')).toThrow('strategy.matrix must be a mapping');
  });
});
