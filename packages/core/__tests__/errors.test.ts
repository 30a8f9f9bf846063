import { describe, expect, it } from '@jest/globals';
import { ActionError, CommandError, InputError, isActionError, messageOf } from '../src/index.js';

describe('errors', () => {
  it('ActionError carries a hint and a cause', () => {
    const cause = new Error('root');
    const e = new ActionError('Push failed', { hint: 'grant packages: write', cause });
    expect(e.describe()).toBe('Push failed\nHint: grant packages: write');
    expect(e.cause).toBe(cause);
    expect(isActionError(e)).toBe(true);
    expect(isActionError(new Error('x'))).toBe(false);
  });

  it('InputError names the input, the value and what is accepted', () => {
    expect(new InputError('builder', 'podman', "'auto', 'buildx', 'buildah'").message).toBe(
      `Input 'builder' has an invalid value "podman". Accepted: 'auto', 'buildx', 'buildah'.`,
    );
    expect(new InputError('image', '', 'an image name').message).toBe(
      "Input 'image' is required. Accepted: an image name.",
    );
  });

  it('CommandError describes what happened', () => {
    const e = new CommandError({
      tool: 'kubectl',
      args: ['get', 'pods'],
      exitCode: 1,
      signal: null,
      stdout: '',
      stderrTail: 'Error from server (NotFound)\n',
      timedOut: false,
      cancelled: false,
    });
    expect(e.message).toBe('`kubectl get pods` exited with code 1:\nError from server (NotFound)');
    expect(messageOf(e)).toBe(e.message);
    expect(messageOf('plain')).toBe('plain');
  });
});
