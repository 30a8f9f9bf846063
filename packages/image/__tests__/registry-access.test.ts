import { describe, expect, it } from '@jest/globals';
import { ActionError, MemoryLogger } from '@dreamscape/core';
import { verifyPushAccess, type ImageBuildPlan } from '../src/index.js';

type Access = Pick<ImageBuildPlan, 'push' | 'registry' | 'logins'>;

/** A registry that records which hosts were asked and fails when told to. */
function fakeClient(refuse?: Error): { asked: string[]; verifyLogin(registry: string): Promise<void> } {
  const asked: string[] = [];
  return {
    asked,
    verifyLogin(registry: string): Promise<void> {
      asked.push(registry);
      return refuse === undefined ? Promise.resolve() : Promise.reject(refuse);
    },
  };
}

const WITH_LOGIN: Access = {
  push: true,
  registry: '127.0.0.1:5000',
  logins: [{ registry: '127.0.0.1:5000', username: 'ci-bot', password: 'pa55-word' }],
};

describe('verifyPushAccess', () => {
  it('asks the registry in its own phase and says whose credentials it accepted', async () => {
    const client = fakeClient();
    const logger = new MemoryLogger();
    await verifyPushAccess({ client, plan: WITH_LOGIN, logger });
    expect(client.asked).toEqual(['127.0.0.1:5000']);
    expect(logger.entries).toEqual([
      { level: 'group', message: 'Registry 127.0.0.1:5000' },
      { level: 'info', message: '127.0.0.1:5000 answers and accepts the credentials of ci-bot.' },
    ]);
  });

  it('says so when the registry is reached anonymously', async () => {
    const logger = new MemoryLogger();
    await verifyPushAccess({ client: fakeClient(), plan: { ...WITH_LOGIN, logins: [] }, logger });
    expect(logger.text()).toContain('127.0.0.1:5000 answers and accepts anonymous access.');
  });

  it("passes on the registry's refusal", async () => {
    const refusal = new ActionError('127.0.0.1:5000 refused the credentials of ci-bot (401).');
    await expect(
      verifyPushAccess({ client: fakeClient(refusal), plan: WITH_LOGIN, logger: new MemoryLogger() }),
    ).rejects.toBe(refusal);
  });

  it('asks nothing of the registry when the build does not push', async () => {
    const client = fakeClient(new Error('must not be asked'));
    const logger = new MemoryLogger();
    await verifyPushAccess({ client, plan: { ...WITH_LOGIN, push: false }, logger });
    expect(client.asked).toEqual([]);
    expect(logger.entries).toEqual([]);
  });
});
