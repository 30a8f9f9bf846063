import { describe, expect, it } from '@jest/globals';
import { ActionError, readRunContext } from '../src/index.js';
import { ActionsLogger, withResultOnFailure, type ActionRuntime } from '../src/actions-adapter.js';

function runtime(outputs: [string, string][]): ActionRuntime {
  return {
    logger: new ActionsLogger(),
    inputs: () => '',
    env: {},
    run: readRunContext({}),
    setOutput: (name, value) => outputs.push([name, value]),
    appendSummary: () => Promise.resolve(),
    saveState: () => undefined,
    getState: () => '',
  };
}

describe('withResultOnFailure', () => {
  it('sets result=failed when the body stops before it reports a result', async () => {
    const outputs: [string, string][] = [];
    const body = withResultOnFailure(() =>
      Promise.reject(new ActionError("Input 'mode' has an invalid value")),
    );
    await expect(body(runtime(outputs))).rejects.toThrow("Input 'mode'");
    expect(outputs).toEqual([['result', 'failed']]);
  });

  it('keeps the result the body reported, even when it then fails the step', async () => {
    const outputs: [string, string][] = [];
    const body = withResultOnFailure((rt) => {
      rt.setOutput('revision', '4');
      rt.setOutput('result', 'rolled-back');
      return Promise.reject(new ActionError('Deploy rolled-back: gate failed'));
    });
    await expect(body(runtime(outputs))).rejects.toThrow('Deploy rolled-back');
    expect(outputs).toEqual([
      ['revision', '4'],
      ['result', 'rolled-back'],
    ]);
  });

  it('adds nothing to a run that succeeds', async () => {
    const outputs: [string, string][] = [];
    await withResultOnFailure((rt) => {
      rt.setOutput('result', 'promoted');
      return Promise.resolve();
    })(runtime(outputs));
    expect(outputs).toEqual([['result', 'promoted']]);
  });
});
