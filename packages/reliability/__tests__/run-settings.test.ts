import { describe, expect, it } from '@jest/globals';
import { chainsOf, reliabilitySettings } from '../src/run-settings.js';

describe('reliabilitySettings', () => {
  it('runs 30 in chains of 10, one chain at a time, with a drawn seed by default', () => {
    expect(reliabilitySettings({}, () => 0.5)).toEqual({
      runs: 30,
      seed: 1_000_000_001,
      seedGiven: false,
      chainLength: 10,
      concurrency: 1,
    });
  });

  it('reads the size, seed, chain length and concurrency from the environment', () => {
    expect(
      reliabilitySettings({
        DS_RELIABILITY_RUNS: '200',
        DS_RELIABILITY_SEED: '1234',
        DS_RELIABILITY_CHAIN: '8',
        DS_RELIABILITY_CONCURRENCY: '2',
      }),
    ).toEqual({ runs: 200, seed: 1234, seedGiven: true, chainLength: 8, concurrency: 2 });
  });

  it('refuses values that are not positive integers, naming the variable', () => {
    expect(() => reliabilitySettings({ DS_RELIABILITY_RUNS: 'lots' })).toThrow(
      'DS_RELIABILITY_RUNS must be a positive integer, not "lots"',
    );
    expect(() => reliabilitySettings({ DS_RELIABILITY_SEED: '0' })).toThrow('DS_RELIABILITY_SEED');
  });
});

describe('chainsOf', () => {
  it('splits the runs into chains whose seeds count up from the first', () => {
    const settings = reliabilitySettings({ DS_RELIABILITY_RUNS: '25', DS_RELIABILITY_SEED: '7' });
    expect(chainsOf(settings)).toEqual([
      { seed: 7, runs: 10 },
      { seed: 8, runs: 10 },
      { seed: 9, runs: 5 },
    ]);
  });

  it('replays one chain up to a run with its seed and the run number', () => {
    const settings = reliabilitySettings({ DS_RELIABILITY_RUNS: '4', DS_RELIABILITY_SEED: '9' });
    expect(chainsOf(settings)).toEqual([{ seed: 9, runs: 4 }]);
  });
});
