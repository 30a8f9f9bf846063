import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '@dreamscape/kube';
import { hookJobName, hookJobObject, splitHooks, tailOf } from '../src/hook-jobs.js';
import { requiredPermissions } from '../src/preflight.js';

function object(
  kind: string,
  name: string,
  annotations: Record<string, string> = {},
  spec: object = {},
): KubeObject {
  return {
    apiVersion: kind === 'Job' ? 'batch/v1' : 'v1',
    kind,
    metadata: { name, annotations },
    spec,
  };
}

describe('splitHooks', () => {
  it('takes Jobs marked by our annotation or by Helm deploy hooks out of what is applied, ordered by weight', () => {
    const split = splitHooks([
      object('Deployment', 'web'),
      object('Job', 'seed', { 'helm.sh/hook': 'post-install,post-upgrade' }),
      object('Job', 'migrate', { 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '5' }),
      object('Job', 'schema', { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '-1' }),
      object('Job', 'warm', { 'dreamscape.io/hook': 'post-deploy' }),
      object('Job', 'plain'),
    ]);
    expect(split.jobs.map((j) => `${j.name}:${j.phase}:${String(j.firstOnly)}`)).toEqual([
      'schema:pre-deploy:false',
      'seed:post-deploy:false',
      'warm:post-deploy:false',
      'migrate:pre-deploy:false',
    ]);
    expect(split.rest.map((o) => o.metadata.name)).toEqual(['web', 'plain']);
    expect(split.findings).toEqual([]);
  });

  it('runs a pre-install-only hook on the first release only', () => {
    const [job] = splitHooks([object('Job', 'create-db', { 'helm.sh/hook': 'pre-install' })]).jobs;
    expect(job).toMatchObject({ phase: 'pre-deploy', firstOnly: true });
  });

  it('never applies Helm test, delete or rollback hooks, and says why', () => {
    const split = splitHooks([
      object('Pod', 'web-test-connection', { 'helm.sh/hook': 'test' }),
      object('Job', 'cleanup', { 'helm.sh/hook': 'pre-delete' }),
    ]);
    expect(split.rest).toEqual([]);
    expect(split.jobs).toEqual([]);
    expect(split.skipped).toEqual([
      {
        object: 'Pod/web-test-connection',
        reason: 'a Helm test hook (test): run by `helm test`, never by a deploy',
      },
      {
        object: 'Job/cleanup',
        reason: 'a Helm pre-delete hook: run by helm uninstall or rollback, never by a deploy',
      },
    ]);
  });

  it('applies the configuration of a migration (its ServiceAccount, its ConfigMap) like any other', () => {
    const split = splitHooks([
      object('ServiceAccount', 'migrator', { 'helm.sh/hook': 'pre-install,pre-upgrade' }),
    ]);
    expect(split.rest.map((o) => o.metadata.name)).toEqual(['migrator']);
  });

  it('refuses our annotation on something other than a Job, or with a value it does not know', () => {
    const split = splitHooks([
      object('Deployment', 'web', { 'dreamscape.io/hook': 'pre-deploy' }),
      object('Job', 'migrate', { 'dreamscape.io/hook': 'before' }),
    ]);
    expect(split.findings).toEqual([
      {
        level: 'error',
        object: 'Deployment/web',
        message: 'only a Job can be a pre-deploy hook (dreamscape.io/hook), and this is a Deployment',
      },
      {
        level: 'error',
        object: 'Job/migrate',
        message: "its annotation dreamscape.io/hook is 'before'; accepted: pre-deploy, post-deploy",
      },
    ]);
  });
});

describe('hookJobName', () => {
  it('is unique to the revision and never longer than a label value', () => {
    expect(hookJobName('migrate', 12)).toBe('migrate-r12');
    const long = 'a'.repeat(70);
    const name = hookJobName(long, 123);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/-r123$/);
    expect(hookJobName(`${long}b`, 123)).not.toBe(name);
  });
});

describe('hookJobObject', () => {
  const hook = splitHooks([
    object('Job', 'migrate', { 'dreamscape.io/hook': 'pre-deploy' }, { backoffLimit: 0, template: {} }),
  ]).jobs[0];

  it('gives the Job its revision name, the release labels and the deadline the release waits for', () => {
    if (hook === undefined) throw new Error('no hook');
    const job = hookJobObject(hook, {
      app: 'shop',
      environment: 'prod',
      namespace: 'shop',
      revision: 7,
      timeoutMs: 90_000,
    }) as KubeObject & { spec: { activeDeadlineSeconds: number; backoffLimit: number } };
    expect(job.metadata).toMatchObject({
      name: 'migrate-r7',
      namespace: 'shop',
      labels: {
        'dreamscape.io/hook': 'pre-deploy',
        'dreamscape.io/hook-job': 'migrate',
        'dreamscape.io/revision': '7',
      },
    });
    expect(job.spec).toMatchObject({ activeDeadlineSeconds: 90, backoffLimit: 0 });
  });

  it('keeps a deadline the Job sets itself', () => {
    const own = splitHooks([
      object('Job', 'migrate', { 'dreamscape.io/hook': 'pre-deploy' }, { activeDeadlineSeconds: 30 }),
    ]).jobs[0];
    if (own === undefined) throw new Error('no hook');
    const job = hookJobObject(own, {
      app: 'a',
      environment: 'e',
      namespace: 'n',
      revision: 1,
      timeoutMs: 600_000,
    });
    expect((job as KubeObject & { spec: { activeDeadlineSeconds: number } }).spec.activeDeadlineSeconds).toBe(
      30,
    );
  });
});

describe('a hook Job as created', () => {
  it('has no TTL: the release reads its result, and a resumed run must find it', () => {
    const [hook] = splitHooks([
      object('Job', 'migrate', { 'dreamscape.io/hook': 'pre-deploy' }, { ttlSecondsAfterFinished: 0 }),
    ]).jobs;
    if (hook === undefined) throw new Error('no hook');
    const job = hookJobObject(hook, {
      app: 'a',
      environment: 'e',
      namespace: 'n',
      revision: 1,
      timeoutMs: 1000,
    });
    expect((job as KubeObject & { spec: object }).spec).not.toHaveProperty('ttlSecondsAfterFinished');
  });

  it('never applies a Helm hook on a bare Pod (its spec is immutable)', () => {
    const split = splitHooks([object('Pod', 'warmup', { 'helm.sh/hook': 'post-upgrade' })]);
    expect(split.rest).toEqual([]);
    expect(split.skipped[0]?.object).toBe('Pod/warmup');
  });
});

describe('tailOf', () => {
  it('keeps the last lines, from the end, within 4 KiB', () => {
    const text = `${Array.from({ length: 30 }, (_, i) => `line ${String(i)}`).join('\n')}\n`;
    expect(tailOf(text)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${String(i + 10)}`));
    const long = `${'x'.repeat(3000)}\n${'y'.repeat(3000)}\nERROR: the last line\n`;
    expect(tailOf(long).at(-1)).toBe('ERROR: the last line');
    expect(tailOf(long).join('\n').length).toBeLessThanOrEqual(4096);
  });

  it('shows control characters as escapes: a carriage return cannot start a workflow command', () => {
    expect(tailOf('ok\r::error::forged\n\u001b[31mred\n')).toEqual([
      'ok\\r::error::forged',
      '\\u{1b}[31mred',
    ]);
  });
});

describe('requiredPermissions with hook Jobs', () => {
  it('asks for Jobs, pods and pod logs only when the release has hook Jobs', () => {
    const plan = { namespace: 'shop', deployments: [] };
    const hooks = splitHooks([object('Job', 'migrate', { 'dreamscape.io/hook': 'pre-deploy' })]).jobs;
    const names = (checks: ReturnType<typeof requiredPermissions>): string[] =>
      checks.map((c) => `${c.verb} ${c.resource}${c.subresource === undefined ? '' : `/${c.subresource}`}`);
    expect(names(requiredPermissions(plan))).not.toContain('create jobs.batch');
    expect(names(requiredPermissions({ ...plan, hooks }))).toEqual(
      expect.arrayContaining([
        'create jobs.batch',
        'get jobs.batch',
        'delete jobs.batch',
        'list pods',
        'get pods/log',
      ]),
    );
  });
});
