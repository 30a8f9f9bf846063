import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@dreamscape/core';
import { KubeApiError, type Service } from '@dreamscape/kube';
import {
  pointPreview,
  revertPatch,
  selectorColor,
  switchPatch,
  switchServices,
  type SwitchTarget,
} from '../src/index.js';
import { FakeClusterApi } from './support/fake-api.js';

const KEY = '/spec/selector/dreamscape.io~1color';

function service(name: string, selector: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { selector, ports: [{ name: 'http', port: 80 }] },
  };
}

function target(
  name: string,
  from: SwitchTarget['from'],
  to: SwitchTarget['to'],
  liveSelector: Record<string, string> = { app: name },
): SwitchTarget {
  return { name, namespace: 'shop', from, to, liveSelector };
}

function setup(...services: Service[]) {
  const api = new FakeClusterApi();
  api.seed(...services);
  const logger = new MemoryLogger();
  const selectorOf = (name: string) => api.peek<Service>('Service', 'shop', name)?.spec?.selector;
  return { api, logger, selectorOf };
}

const unavailable = () =>
  new KubeApiError('PATCH', 'services/web', 503, 'ServiceUnavailable', 'etcd is busy');

describe('selectorColor', () => {
  it('reads the color a Service selects', () => {
    expect(selectorColor(service('web', { app: 'web', 'dreamscape.io/color': 'green' }))).toBe('green');
    expect(selectorColor(service('web', { app: 'web', 'dreamscape.io/color': 'blue' }))).toBe('blue');
    expect(selectorColor(service('web', { app: 'web' }))).toBe('legacy');
    expect(selectorColor(service('web', { app: 'web', 'dreamscape.io/color': 'red' }))).toBe('legacy');
    expect(selectorColor(undefined)).toBe('missing');
  });
});

describe('switchPatch / revertPatch', () => {
  it('tests the color key, then replaces it (the key escaped as a JSON pointer)', () => {
    expect(switchPatch(target('web', 'blue', 'green'))).toEqual([
      { op: 'test', path: KEY, value: 'blue' },
      { op: 'replace', path: KEY, value: 'green' },
    ]);
    expect(revertPatch(target('web', 'blue', 'green'))).toEqual([
      { op: 'test', path: KEY, value: 'green' },
      { op: 'replace', path: KEY, value: 'blue' },
    ]);
  });

  it('adopting an un-colored Service tests its whole selector, and reverting removes the key again', () => {
    const t = target('web', 'legacy', 'blue', { app: 'web', tier: 'front' });
    expect(switchPatch(t)).toEqual([
      { op: 'test', path: '/spec/selector', value: { app: 'web', tier: 'front' } },
      { op: 'add', path: KEY, value: 'blue' },
    ]);
    expect(revertPatch(t)).toEqual([
      { op: 'test', path: KEY, value: 'blue' },
      { op: 'remove', path: KEY },
    ]);
  });
});

describe('switchServices', () => {
  it('moves every Service from one color to the other, and back', async () => {
    const { api, logger, selectorOf } = setup(
      service('web', { app: 'web', 'dreamscape.io/color': 'blue' }),
      service('api', { app: 'api', 'dreamscape.io/color': 'blue' }),
    );
    const targets = [target('web', 'blue', 'green'), target('api', 'blue', 'green')];

    expect(await switchServices(api, logger, targets, 'forward')).toEqual([
      { name: 'web', ok: true, skipped: false },
      { name: 'api', ok: true, skipped: false },
    ]);
    expect(selectorOf('web')).toEqual({ app: 'web', 'dreamscape.io/color': 'green' });
    expect(selectorOf('api')).toEqual({ app: 'api', 'dreamscape.io/color': 'green' });
    expect(logger.text()).toContain('Service web: blue → green');

    expect((await switchServices(api, logger, targets, 'back')).every((r) => r.ok)).toBe(true);
    expect(selectorOf('web')).toEqual({ app: 'web', 'dreamscape.io/color': 'blue' });
    expect(logger.text()).toContain('Service web: green → blue (switched back)');
  });

  it('adopts an un-colored Service, and removes the color again when switching back', async () => {
    const { api, logger, selectorOf } = setup(service('web', { app: 'web' }));
    const t = target('web', 'legacy', 'blue');
    expect((await switchServices(api, logger, [t], 'forward'))[0]?.ok).toBe(true);
    expect(selectorOf('web')).toEqual({ app: 'web', 'dreamscape.io/color': 'blue' });
    expect((await switchServices(api, logger, [t], 'back'))[0]?.ok).toBe(true);
    expect(selectorOf('web')).toEqual({ app: 'web' });
  });

  it('skips a Service that does not exist, without a call', async () => {
    const { api, logger } = setup();
    expect(await switchServices(api, logger, [target('web', 'missing', 'green')], 'forward')).toEqual([
      { name: 'web', ok: true, skipped: true },
    ]);
    expect(api.calls).toEqual([]);
  });

  it('counts a patch whose answer was lost as done when a read shows the Service switched', async () => {
    const { api, logger, selectorOf } = setup(service('web', { app: 'web', 'dreamscape.io/color': 'blue' }));
    api.fail('patch', { times: 1, afterWrite: true, error: unavailable() });
    expect(await switchServices(api, logger, [target('web', 'blue', 'green')], 'forward')).toEqual([
      { name: 'web', ok: true, skipped: false },
    ]);
    expect(api.count('patch')).toBe(1);
    expect(selectorOf('web')?.['dreamscape.io/color']).toBe('green');
    expect(logger.text()).toContain('Service web: already selects green');
  });

  it('retries a patch that failed while the Service still selects the old color', async () => {
    const { api, logger, selectorOf } = setup(service('web', { app: 'web', 'dreamscape.io/color': 'blue' }));
    api.fail('patch', { times: 2, error: unavailable() });
    expect((await switchServices(api, logger, [target('web', 'blue', 'green')], 'forward'))[0]?.ok).toBe(
      true,
    );
    expect(api.count('patch')).toBe(3);
    expect(selectorOf('web')?.['dreamscape.io/color']).toBe('green');
  });

  it('retries when the read after a failed patch fails too', async () => {
    const { api, logger, selectorOf } = setup(service('web', { app: 'web', 'dreamscape.io/color': 'blue' }));
    api.fail('patch', { times: 1, error: unavailable() });
    api.fail('get', { times: 1, error: unavailable() });
    expect((await switchServices(api, logger, [target('web', 'blue', 'green')], 'forward'))[0]?.ok).toBe(
      true,
    );
    expect(api.count('patch')).toBe(2);
    expect(selectorOf('web')?.['dreamscape.io/color']).toBe('green');
  });

  it('gives up after three attempts, reporting the error, and leaves the other Services switched', async () => {
    const { api, logger, selectorOf } = setup(
      service('web', { app: 'web', 'dreamscape.io/color': 'blue' }),
      service('api', { app: 'api', 'dreamscape.io/color': 'blue' }),
    );
    api.fail('patch', { name: 'web', error: unavailable() });
    const results = await switchServices(
      api,
      logger,
      [target('web', 'blue', 'green'), target('api', 'blue', 'green')],
      'forward',
    );
    expect(results).toEqual([
      {
        name: 'web',
        ok: false,
        skipped: false,
        error: 'PATCH services/web failed: 503 ServiceUnavailable: etcd is busy',
      },
      { name: 'api', ok: true, skipped: false },
    ]);
    expect(api.count('patch', 'web')).toBe(3);
    expect(selectorOf('web')?.['dreamscape.io/color']).toBe('blue');
    expect(selectorOf('api')?.['dreamscape.io/color']).toBe('green');
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      '  Service web: switch failed: PATCH services/web failed: 503 ServiceUnavailable: etcd is busy',
    ]);
  });

  it('does not overwrite a Service someone else changed meanwhile, and stops at once when it left the old color', async () => {
    const { api, logger, selectorOf } = setup(service('web', { app: 'web', tier: 'front' }));
    // Planned as an adoption of {app: web}, but the live selector has changed since.
    const [result] = await switchServices(api, logger, [target('web', 'legacy', 'green')], 'forward');
    expect(result?.ok).toBe(false);
    expect(result?.error).toContain('PreconditionFailed');
    expect(selectorOf('web')).toEqual({ app: 'web', tier: 'front' });

    const colored = setup(service('web', { app: 'web', 'dreamscape.io/color': 'blue' }));
    // Planned as blue → green, but it was moved away from blue by someone else: removed the key.
    await colored.api.patch(
      { kind: 'Service', name: 'web', namespace: 'shop' },
      [{ op: 'remove', path: KEY }],
      {
        type: 'json',
      },
    );
    const [moved] = await switchServices(
      colored.api,
      colored.logger,
      [target('web', 'blue', 'green')],
      'forward',
    );
    expect(moved?.ok).toBe(false);
    expect(colored.api.count('patch', 'web')).toBe(2);
    expect(colored.selectorOf('web')).toEqual({ app: 'web' });
  });
});

describe('pointPreview', () => {
  it('points a preview Service at a color, keeping the rest of its selector', async () => {
    const { api, selectorOf } = setup(service('web-preview', { app: 'web', 'dreamscape.io/color': 'blue' }));
    await pointPreview(api, 'shop', 'web-preview', 'green');
    expect(selectorOf('web-preview')).toEqual({ app: 'web', 'dreamscape.io/color': 'green' });
  });
});
