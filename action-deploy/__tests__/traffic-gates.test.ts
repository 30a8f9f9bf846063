import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BehaviourEntry } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  releaseRecords,
  serviceColors,
  startCluster,
  startLoad,
  startPrometheus,
  type ExampleCluster,
  type LoadRun,
  type RunningPrometheus,
} from '@dreamscape/testkit';

// The example's gateway is reached through its Ingress (`gateway`, this host in the dev overlay).
const HOST = 'dev.dreamscape.example.com';
const NS = 'dreamscape-dev';
const TRAFFIC = `namespace="${NS}",ingress="gateway"`;

/** Every image answers `/` in about 20 ms; v3's gateway answers 5 % of its requests with 500. */
const BEHAVIOURS: BehaviourEntry[] = [
  {
    image: `*@${digest('gateway', 'v3')}`,
    ready: '1s',
    http: {
      '/': { status: 200, body: 'ok', latency: { median: '20ms', p99: '60ms' }, errors: { rate: 0.05 } },
    },
  },
  {
    image: '*',
    ready: '1s',
    http: { '/': { status: 200, body: 'ok', latency: { median: '20ms', p99: '60ms' } } },
  },
];

/** Post-switch gates reading the real Prometheus: the 5xx ratio and p95 latency over 30 s. */
function prometheusGates(prometheusUrl: string): string {
  return `
- name: error-ratio
  prometheus: ${prometheusUrl}
  query: sum(rate(http_requests_total{${TRAFFIC},code=~"5.."}[30s])) / sum(rate(http_requests_total{${TRAFFIC}}[30s]))
  max: 0.01
  when: post-switch
  interval: 1s
  successes: 2
- name: p95-latency
  prometheus: ${prometheusUrl}
  query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${TRAFFIC}}[30s])))
  max: 1
  when: post-switch
  interval: 1s
  successes: 2`;
}

describe('post-switch gates on real traffic', () => {
  let cluster: ExampleCluster;
  let prometheus: RunningPrometheus;
  let load: LoadRun;

  beforeAll(async () => {
    cluster = await startCluster(BEHAVIOURS);
    const v1 = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
    expect(v1.outputs.result).toBe('promoted');
    prometheus = await startPrometheus({ targets: [cluster.double.gateway.metricsTarget] });
    // Steady traffic through the Ingress for the whole test, as users would send it.
    load = startLoad({
      url: cluster.double.gateway.url,
      host: HOST,
      path: '/',
      rps: 50,
      maxDurationMs: 300_000,
    });
    cluster.double.clearLogs();
  }, 120_000);

  afterAll(async () => {
    await load.stop();
    await prometheus.stop();
    await cluster.double.close();
  });

  it('a healthy release passes a 5xx-ratio and p95 gate read from Prometheus', async () => {
    const r = await deploy(cluster, {
      images: buildRecords('v2'),
      'health-checks': healthChecks(undefined, prometheusGates(prometheus.url)),
      'verify-window': '8s',
    });
    expect(r.outputs.result).toBe('promoted');
    expect(r.stdout).toMatch(/error-ratio \(post-switch\) ✓ .*value 0 within bounds/);
    expect(r.stdout).toMatch(/p95-latency \(post-switch\) ✓ .*value 0\.\d+ within bounds/);
    expect(serviceColors(cluster.double).gateway).toBe('green');
    // The traffic that flowed through the switch: no request to an unready pod, no routing 503.
    expect(cluster.double.violations()).toEqual([]);
    const traffic = cluster.double.gateway.traffic();
    expect(traffic.answered).toBeGreaterThan(100);
    expect(traffic).toMatchObject({ unreadyAnswers: 0, routing503s: 0 });
  }, 180_000);

  it('a release whose pods answer 5 % 500s is switched back by the Prometheus gate', async () => {
    const r = await deploy(cluster, {
      images: buildRecords('v3'),
      'health-checks': healthChecks(undefined, prometheusGates(prometheus.url)),
      'verify-window': '40s',
    });
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'active-color': 'green' });
    expect(r.errors.join('\n')).toMatch(
      /post-switch health gates failed: error-ratio .*value 0\.0\d+ is above max 0\.01/,
    );
    expect(serviceColors(cluster.double).gateway).toBe('green');
    expect(releaseRecords(cluster.double)[0]).toMatchObject({ revision: 3, result: 'rolled-back' });
    expect(cluster.double.violations()).toEqual([]);

    // What the client saw and what Prometheus counted are the same requests: stop the traffic, let
    // the last scrape land, and compare the 500s.
    const seen = await load.stop();
    expect(seen.byStatus['500']).toBeGreaterThan(0);
    const counted = await prometheus.waitForSamples(
      `sum(http_requests_total{${TRAFFIC},code="500"})`,
      (samples) => samples[0]?.value === seen.byStatus['500'],
      15_000,
    );
    expect(counted[0]?.value).toBe(seen.byStatus['500']);
    // Every 500 came from v3's color, blue, and none from the color that stayed live.
    expect(
      await prometheus.scalar(`sum(http_requests_total{${TRAFFIC},code="500",color="green"})`),
    ).toBeUndefined();
    // The latency histogram holds what the behaviours declared (a median of about 20 ms: a
    // loaded machine can only add to it).
    const median = await prometheus.scalar(
      `histogram_quantile(0.5, sum by (le) (http_request_duration_seconds_bucket{${TRAFFIC}}))`,
    );
    expect(median).toBeGreaterThanOrEqual(0.01);
  }, 180_000);
});

describe('a url gate through the Ingress', () => {
  let cluster: ExampleCluster;
  let url: string;

  beforeAll(async () => {
    cluster = await startCluster(BEHAVIOURS);
    const v1 = await deploy(cluster, { images: buildRecords('v1'), 'health-checks': healthChecks() });
    expect(v1.outputs.result).toBe('promoted');
    // The address a DNS record for the Ingress host would give the runner.
    url = await cluster.double.gateway.hostUrl(HOST);
  }, 120_000);

  afterAll(async () => {
    await cluster.double.close();
  });

  const urlGate = (): string =>
    `\n- name: front-door\n  url: ${url}/\n  when: post-switch\n  interval: 100ms\n  successes: 3`;

  it('passes for a healthy release', async () => {
    const r = await deploy(cluster, {
      images: buildRecords('v2'),
      'health-checks': healthChecks(undefined, urlGate()),
      'verify-window': '3s',
    });
    expect(r.outputs.result).toBe('promoted');
    expect(r.stdout).toMatch(/front-door \(post-switch\) ✓ .*HTTP 200/);
  }, 120_000);

  it('switches back a release whose pods answer 5 % 500s', async () => {
    // Only the gate sends requests here: v3's every twentieth answer is a 500, and a 30 s window
    // at 100 ms probes more than twenty times.
    const r = await deploy(cluster, {
      images: buildRecords('v3'),
      'health-checks': healthChecks(undefined, urlGate()),
      'verify-window': '30s',
    });
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'active-color': 'green' });
    expect(r.errors.join('\n')).toMatch(/post-switch health gates failed: front-door .*HTTP 500/);
    expect(serviceColors(cluster.double).gateway).toBe('green');
  }, 120_000);
});
