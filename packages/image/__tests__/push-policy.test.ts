import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import { announcePushDecision, decidePush } from '../src/index.js';

describe('announcePushDecision', () => {
  it('says that it pushes, and why', () => {
    const logger = new MemoryLogger();
    announcePushDecision(decidePush('auto', 'push'), logger);
    expect(logger.entries).toEqual([
      { level: 'info', message: "Pushing: push is 'auto' and this is a push event." },
    ]);
  });

  it('says that it does not push when told so, as a plain line', () => {
    const logger = new MemoryLogger();
    announcePushDecision(decidePush('false', 'push'), logger);
    expect(logger.entries).toEqual([{ level: 'info', message: "Not pushing: push is 'false'." }]);
  });

  it("raises a notice when 'auto' holds the push back, naming the event", () => {
    const logger = new MemoryLogger();
    announcePushDecision(decidePush('auto', 'pull_request'), logger);
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]?.level).toBe('notice');
    expect(logger.entries[0]?.message).toMatch(
      /^Not pushing: push is 'auto' and this is a pull_request event: the image is built but not pushed/,
    );
  });
});
