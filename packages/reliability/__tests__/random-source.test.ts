import { describe, expect, it } from '@jest/globals';
import { deriveSeed, RandomSource } from '../src/random-source.js';

describe('RandomSource', () => {
  it('repeats its sequence for a seed, and another seed gives another', () => {
    const a = new RandomSource(42);
    const b = new RandomSource(42);
    const first = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(first);
    const c = new RandomSource(43);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(first);
    for (const x of first) expect(x >= 0 && x < 1).toBe(true);
  });

  it('draws integers within both bounds, reaching each of them', () => {
    const r = new RandomSource(7);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(r.int(2, 5));
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
  });

  it('samples distinct elements, and never more than there are', () => {
    const r = new RandomSource(9);
    for (let i = 0; i < 50; i++) {
      const s = r.sample(['a', 'b', 'c', 'd'], 3);
      expect(new Set(s).size).toBe(3);
    }
    expect(r.sample(['a', 'b'], 5).sort()).toEqual(['a', 'b']);
  });

  it('never picks an element whose weight is zero, and follows the weights', () => {
    const r = new RandomSource(11);
    const counts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 2000; i++)
      counts[
        r.weighted([
          ['a', 3],
          ['b', 1],
          ['c', 0],
        ] as const)
      ]++;
    expect(counts.c).toBe(0);
    expect(counts.a).toBeGreaterThan(counts.b * 2);
  });

  it('refuses to pick from nothing', () => {
    expect(() => new RandomSource(1).pick([])).toThrow('empty');
  });
});

describe('deriveSeed', () => {
  it('gives unrelated positive seeds for neighbouring indexes, the same for the same index', () => {
    const seeds = Array.from({ length: 100 }, (_, i) => deriveSeed(5, i));
    expect(new Set(seeds).size).toBe(100);
    for (const s of seeds) expect(Number.isInteger(s) && s > 0 && s < 2 ** 32).toBe(true);
    expect(deriveSeed(5, 3)).toBe(seeds[3]);
    expect(deriveSeed(6, 3)).not.toBe(seeds[3]);
  });
});
