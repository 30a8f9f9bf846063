import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAccessRules } from '../src/access-review.js';
import { startKubeDouble, type KubeDouble } from '../src/index.js';
import { kubectlFor, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({
    access: [
      { verbs: ['delete'], resources: ['namespaces'], allowed: false, reason: 'namespaces are forever' },
      { verbs: ['patch'], resources: ['deployments/scale'], namespaces: ['prod'], allowed: false },
    ],
  });
  k = kubectlFor(double);
});

afterAll(async () => {
  await double.close();
});

describe('kubectl auth can-i', () => {
  it('is allowed unless a rule says no', async () => {
    const yes = await k(['auth', 'can-i', 'create', 'deployments']);
    expect([yes.exitCode, yes.stdout.trim()]).toEqual([0, 'yes']);
    const no = await k(['auth', 'can-i', 'delete', 'namespaces']);
    expect(no.exitCode).toBe(1);
    expect(no.stdout.trim()).toBe('no - namespaces are forever');
  });

  it('matches subresources and namespaces', async () => {
    expect(
      (await k(['auth', 'can-i', 'patch', 'deployments', '--subresource=scale', '-n', 'prod'])).exitCode,
    ).toBe(1);
    expect(
      (await k(['auth', 'can-i', 'patch', 'deployments', '--subresource=scale', '-n', 'dev'])).exitCode,
    ).toBe(0);
    expect((await k(['auth', 'can-i', 'patch', 'deployments', '-n', 'prod'])).exitCode).toBe(0);
  });

  it('follows rules replaced at run time, over HTTP too', async () => {
    const response = await fetch(`${double.url}/_double/access`, {
      method: 'POST',
      body: JSON.stringify([{ verbs: ['get'], resources: ['secrets'], allowed: false }]),
    });
    expect(response.status).toBe(200);
    expect((await k(['auth', 'can-i', 'get', 'secrets'])).exitCode).toBe(1);
    expect((await k(['auth', 'can-i', 'delete', 'namespaces'])).exitCode).toBe(0);
    double.setAccess([]);
    expect((await k(['auth', 'can-i', 'get', 'secrets'])).exitCode).toBe(0);
  });

  it('refuses rules without a decision', () => {
    expect(() => parseAccessRules([{ verbs: ['get'] }])).toThrow('rule 0: expected {allowed: true|false');
  });
});
