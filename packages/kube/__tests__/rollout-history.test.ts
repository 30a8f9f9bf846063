import { describe, expect, it } from '@jest/globals';
import { parseRolloutHistory } from '../src/index.js';

describe('parseRolloutHistory', () => {
  it('reads revisions and change causes, oldest first', () => {
    const text =
      'deployment.apps/web \nREVISION  CHANGE-CAUSE\n4         deploy 1a2b3c by run 77\n2         <none>\n3         <none>\n\n';
    expect(parseRolloutHistory(text)).toEqual([
      { revision: 2, changeCause: undefined },
      { revision: 3, changeCause: undefined },
      { revision: 4, changeCause: 'deploy 1a2b3c by run 77' },
    ]);
  });

  it('has no revisions without the table', () => {
    expect(parseRolloutHistory('deployment.apps/web \n')).toEqual([]);
  });
});
