import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { FaultInjector } from '../src/faults.js';
import { resourceTypeOfKind } from '../src/resource-table.js';
import { startKubeDouble, type KubeDouble } from '../src/index.js';
import { deployment, failed, kubectlFor, ok, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20 });
  k = kubectlFor(double);
  ok(
    await k(['apply', '--server-side', '-f', '-'], {
      stdin: yaml(deployment('target', 'nginx:1.27', { replicas: 1 })),
    }),
  );
  ok(await k(['rollout', 'status', 'deploy/target', '--timeout=30s']));
});

beforeEach(() => {
  double.setFaults([]);
});

afterAll(async () => {
  await double.close();
});

describe('fault injection seen by kubectl', () => {
  it('answers matching requests with an error status that kubectl prints', async () => {
    double.setFaults([{ verbs: ['get'], resources: ['deployments'], error: 500 }]);
    const stderr = failed(await k(['get', 'deploy', 'target']));
    expect(stderr).toContain('Error from server (InternalError): Internal error occurred: injected fault');
    expect(double.faultCounts()).toEqual([1]);
    // Other verbs and resources are untouched.
    ok(await k(['get', 'deploy']));
    ok(await k(['get', 'svc']));

    double.setFaults([{ resources: ['deployments'], error: { status: 503, message: 'etcd is away' } }]);
    expect(failed(await k(['get', 'deploy', 'target']))).toContain(
      'Error from server (ServiceUnavailable): etcd is away',
    );

    double.setFaults([]);
    ok(await k(['get', 'deploy', 'target']));
  });

  it('turns writes into 409 conflicts', async () => {
    double.setFaults([{ verbs: ['patch'], resources: ['deployments'], conflict: true }]);
    const stderr = failed(
      await k(['patch', 'deploy', 'target', '--type=merge', '-p', '{"metadata":{"labels":{"x":"y"}}}']),
    );
    expect(stderr).toContain(
      'Error from server (Conflict): Operation cannot be fulfilled on deployments.apps "target": the object has been modified; please apply your changes to the latest version and try again',
    );
    // Reads are not writes: a conflict rule never fires on them.
    ok(await k(['get', 'deploy', 'target']));
    expect(double.faultCounts()).toEqual([1]);
  });

  it('applies only `limit` times; a 429 is retried by kubectl until it passes', async () => {
    double.setFaults([{ verbs: ['get'], resources: ['deployments'], error: 429, limit: 2 }]);
    ok(await k(['get', 'deploy', 'target']));
    expect(double.faultCounts()).toEqual([2]);
    const answered = double
      .requests()
      .filter((r) => r.path === '/apis/apps/v1/namespaces/default/deployments/target');
    expect(answered.slice(-3).map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('adds latency', async () => {
    double.setFaults([{ verbs: ['get'], resources: ['deployments'], latency: '1500ms' }]);
    const result = await k(['get', 'deploy', 'target']);
    ok(result);
    expect(result.durationMs).toBeGreaterThanOrEqual(1500);
  });

  it('hangs until the client gives up', async () => {
    double.setFaults([{ verbs: ['list'], resources: ['configmaps'], hang: true }]);
    const stderr = failed(await k(['get', 'cm', '--request-timeout=1s']));
    // kubectl's HTTP client timeout and its request context expire together; whichever it notices
    // first names the error.
    expect(stderr).toMatch(/Client\.Timeout exceeded while awaiting headers|context deadline exceeded/);
  });

  it('drops watches mid-stream; kubectl watches again and still sees the rollout finish', async () => {
    double.setFaults([{ verbs: ['watch'], resources: ['deployments'], dropWatch: '200ms' }]);
    ok(await k(['set', 'image', 'deploy/target', 'web=nginx:1.28']));
    expect(ok(await k(['rollout', 'status', 'deploy/target', '--timeout=30s']))).toContain(
      'successfully rolled out',
    );
    expect(double.faultCounts()[0]).toBeGreaterThanOrEqual(1);
  });

  it('serves a write, then cuts its answer mid-body: the client errs, the object exists', async () => {
    double.setFaults([{ verbs: ['create'], resources: ['configmaps'], dropAnswer: true, limit: 1 }]);
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cut-answer' },
      data: { big: 'x'.repeat(50_000) },
    });
    const res = await fetch(`${double.url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    // The status and headers arrive; the body never completes.
    expect(res.status).toBe(201);
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect(double.faultCounts()).toEqual([1]);
    const live = ok(await k(['get', 'configmap', 'cut-answer', '-o', 'jsonpath={.data.big}']));
    expect(live).toHaveLength(50_000);
    // Watches are never cut this way; reads are cut like writes.
    double.setFaults([{ verbs: ['get'], resources: ['configmaps'], dropAnswer: true }]);
    const stderr = failed(await k(['get', 'configmap', 'cut-answer', '-o', 'json']));
    expect(stderr).toMatch(/unexpected EOF|connection reset|EOF/);
  });

  it('reaches non-resource paths only when a rule names them, and never /_double/', async () => {
    double.setFaults([{ error: 500 }, { paths: ['/_double/*'], error: 500 }]);
    ok(await k(['version']));
    const inspection = await fetch(`${double.url}/_double/requests`);
    expect(inspection.status).toBe(200);
    double.setFaults([{ paths: ['/version'], error: 500 }]);
    expect(failed(await k(['version']))).toContain('Error from server (InternalError)');
  });
});

describe('FaultInjector', () => {
  const type = resourceTypeOfKind('Deployment');
  const decisions = (seed: number): boolean[] => {
    const injector = new FaultInjector(seed);
    injector.set([{ resources: ['deployments'], rate: 0.5, error: 500 }]);
    return Array.from(
      { length: 40 },
      () => injector.decide({ verb: 'get', resource: type, path: '/' }).error !== undefined,
    );
  };

  it('is deterministic for a seed, and a share of requests fail', () => {
    const first = decisions(7);
    expect(decisions(7)).toEqual(first);
    expect(decisions(8)).not.toEqual(first);
    const failures = first.filter(Boolean).length;
    expect(failures).toBeGreaterThan(8);
    expect(failures).toBeLessThan(32);
  });

  it('rejects rules it cannot honour', () => {
    const injector = new FaultInjector();
    expect(() => {
      injector.set([{ error: 500, hang: true }]);
    }).toThrow('choose one of error, conflict, dropWatch, dropAnswer, hang');
    expect(() => {
      injector.set([{ dropAnswer: true, conflict: true }]);
    }).toThrow('choose one of error, conflict, dropWatch, dropAnswer, hang');
    expect(() => {
      injector.set([{ rate: 2, error: 500 }]);
    }).toThrow('rate');
    expect(() => {
      injector.set([{ verbs: ['get'] }]);
    }).toThrow('no effect');
    expect(() => {
      injector.set([{ latency: 'soon' }]);
    }).toThrow('latency');
  });
});

describe('fault rules with after', () => {
  it('let the first matching requests through, then take effect', () => {
    const services = resourceTypeOfKind('Service');
    if (services === undefined) throw new Error('services are not served');
    const faults = new FaultInjector(1);
    faults.set([{ verbs: ['patch'], resources: ['services'], names: ['user'], after: 2, hang: true }]);
    const target = { verb: 'patch', resource: services, namespace: 'ns', name: 'user', path: '/' };
    expect(faults.decide(target).hang).toBe(false);
    expect(faults.decide({ ...target, name: 'other' }).hang).toBe(false);
    expect(faults.decide(target).hang).toBe(false);
    expect(faults.decide(target).hang).toBe(true);
    expect(faults.counts()).toEqual([1]);
    expect(() => {
      faults.set([{ after: -1, hang: true }]);
    }).toThrow('after: expected a count');
  });
});
