import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { builtInType } from '../src/resource-table.js';
import { failed, kubectlFor, ok, yaml, type Kubectl } from './support/manifests.js';

const NS = 'logs';
const MIGRATION = [
  'connecting to postgres://db:5432/shop',
  'applying 0001_init',
  'applying 0002_orders',
  'applying 0003_users',
  'ERROR: relation "users" already exists',
  'migration failed after 3 of 4 steps',
];

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({
    timeScale: 20,
    namespaces: [NS],
    access: [{ verbs: ['get'], resources: ['pods/log'], allowed: false, reason: 'logs are private' }],
    behaviours: [
      { image: 'migrate:broken', exitCode: 1, duration: '4s', logs: MIGRATION },
      // 20 simulated minutes are a real minute: only the first line is due while a test looks.
      { image: 'migrate:slow', duration: '20m', logs: ['step 1 of 3', 'step 2 of 3', 'step 3 of 3'] },
      { image: 'migrate:flaky', exitCode: 2, duration: '4s', logs: ['try', 'crashed'] },
      { image: 'web:1', ready: '1s', logs: ['listening on :8080', 'GET /health 200'] },
      { image: 'sidecar:1', ready: '1s', logs: ['proxy up'] },
      { image: 'quiet:1', ready: '1s', logs: [] },
      { image: 'idle:1', ready: 'never' },
    ],
  });
  k = kubectlFor(double);
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

const meta = (o: JsonObject): JsonObject => o.metadata as JsonObject;

async function apply(manifest: Record<string, unknown>): Promise<void> {
  ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(manifest) }));
}

function job(name: string, image: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NS },
    spec: {
      backoffLimit: 0,
      ...spec,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'migrate', image }] } },
    },
  };
}

function pod(
  name: string,
  containers: readonly (readonly [string, string])[],
  restartPolicy = 'Always',
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { restartPolicy, containers: containers.map(([n, image]) => ({ name: n, image })) },
  };
}

function podsOf(jobName: string): JsonObject[] {
  return double
    .objects('pods', NS)
    .filter((p) => (meta(p).labels as JsonObject | undefined)?.['job-name'] === jobName);
}

function containerStatus(p: JsonObject, name: string): JsonObject {
  const found = ((p.status as JsonObject).containerStatuses as JsonObject[]).find((c) => c.name === name);
  if (found === undefined) throw new Error(`no status for container ${name}`);
  return found;
}

/** GET the pod's log subresource with a query. */
async function getLog(
  name: string,
  query: Record<string, string> = {},
): Promise<{ status: number; type: string; text: string }> {
  const search = new URLSearchParams(query).toString();
  const response = await fetch(
    `${double.url}/api/v1/namespaces/${NS}/pods/${name}/log${search === '' ? '' : `?${search}`}`,
  );
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

/** The status code, reason and message of a failed GET of a pod's log. */
async function logError(name: string, query: Record<string, string> = {}): Promise<[number, string, string]> {
  const { status, text } = await getLog(name, query);
  const body = JSON.parse(text) as JsonObject;
  expect(body.kind).toBe('Status');
  return [status, body.reason as string, body.message as string];
}

const lines = (texts: readonly string[]): string => texts.map((t) => `${t}\n`).join('');

describe('a failed migration Job', () => {
  let podName = '';

  beforeAll(async () => {
    await apply(job('migrate', 'migrate:broken'));
    ok(await k(['wait', '--for=condition=failed', 'job/migrate', '-n', NS, '--timeout=60s']));
    const pods = podsOf('migrate');
    expect(pods).toHaveLength(1);
    podName = meta(pods[0] ?? {}).name as string;
  });

  it('has one pod labelled as the Job controller labels it, its container terminated with reason Error', () => {
    const [jobPod] = podsOf('migrate');
    const uid = meta(double.objects('jobs', NS).find((j) => meta(j).name === 'migrate') ?? {}).uid;
    expect(meta(jobPod ?? {}).labels).toMatchObject({
      'batch.kubernetes.io/job-name': 'migrate',
      'job-name': 'migrate',
      'batch.kubernetes.io/controller-uid': uid,
      'controller-uid': uid,
    });
    expect((jobPod?.status as JsonObject).phase).toBe('Failed');
    const terminated = (containerStatus(jobPod ?? {}, 'migrate').state as JsonObject)
      .terminated as JsonObject;
    expect(terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    // The real kubelet sets a message only from the terminationMessagePath file.
    expect(terminated.message).toBeUndefined();
  });

  it('serves every line its image printed as text/plain, each ending in a newline', async () => {
    const log = await getLog(podName);
    expect([log.status, log.type]).toEqual([200, 'text/plain']);
    expect(log.text).toBe(lines(MIGRATION));
  });

  it('gives exactly the last lines for tailLines, and nothing for tailLines=0', async () => {
    expect((await getLog(podName, { tailLines: '2' })).text).toBe(lines(MIGRATION.slice(-2)));
    expect((await getLog(podName, { tailLines: '0' })).text).toBe('');
    expect((await getLog(podName, { tailLines: '50' })).text).toBe(lines(MIGRATION));
  });

  it('shows the tail through the real kubectl, by pod and by job', async () => {
    expect(ok(await k(['logs', podName, '-n', NS, '--tail=5']))).toBe(lines(MIGRATION.slice(-5)));
    expect(ok(await k(['logs', '--tail=2', 'job/migrate', '-n', NS]))).toBe(lines(MIGRATION.slice(-2)));
  });

  it('prefixes each line with the RFC 3339 time it was printed, within the container run', async () => {
    const text = (await getLog(podName, { timestamps: 'true' })).text;
    const stamped = text.split('\n').slice(0, -1);
    expect(stamped).toHaveLength(MIGRATION.length);
    const times = stamped.map((line, i) => {
      const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (.*)$/.exec(line);
      expect(match?.[2]).toBe(MIGRATION[i]);
      return Date.parse(match?.[1] ?? '');
    });
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Spread over the run: the last line comes after the first (4 simulated seconds are 200 ms).
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(100);
    const terminated = (containerStatus(podsOf('migrate')[0] ?? {}, 'migrate').state as JsonObject)
      .terminated as JsonObject;
    // The container's times have whole seconds.
    expect(times[0]).toBeGreaterThanOrEqual(Date.parse(terminated.startedAt as string));
    expect(times.at(-1)).toBeLessThan(Date.parse(terminated.finishedAt as string) + 1000);
    expect(ok(await k(['logs', podName, '-n', NS, '--timestamps', '--tail=1']))).toBe(
      `${stamped.at(-1) ?? ''}\n`,
    );
  });

  it('cuts the answer at limitBytes, mid-line if it falls there', async () => {
    expect((await getLog(podName, { limitBytes: '10' })).text).toBe(lines(MIGRATION).slice(0, 10));
    expect((await getLog(podName, { tailLines: '1', limitBytes: '7' })).text).toBe('migrati');
    expect(ok(await k(['logs', podName, '-n', NS, '--limit-bytes=12']))).toBe('connecting t');
  });

  it('has no previous container to show: it never restarted', async () => {
    expect(await logError(podName, { previous: 'true' })).toEqual([
      400,
      'BadRequest',
      `previous terminated container "migrate" in pod "${podName}" not found`,
    ]);
  });

  it('refuses options the real server refuses', async () => {
    expect(await logError(podName, { tailLines: '-1' })).toEqual([
      422,
      'Invalid',
      `PodLogOptions "${podName}" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0`,
    ]);
    expect(await logError(podName, { limitBytes: '0' })).toEqual([
      422,
      'Invalid',
      `PodLogOptions "${podName}" is invalid: limitBytes: Invalid value: 0: must be greater than 0`,
    ]);
  });
});

describe('a container still running', () => {
  it('has printed only the lines due so far; the rest come over its run', async () => {
    await apply(job('slow', 'migrate:slow'));
    let name = '';
    await until(() => {
      const [running] = podsOf('slow');
      name = meta(running ?? { metadata: {} }).name as string;
      return (running?.status as JsonObject | undefined)?.phase === 'Running';
    });
    expect((await getLog(name)).text).toBe('step 1 of 3\n');
    // follow=true answers what there is and closes.
    expect((await getLog(name, { follow: 'true' })).text).toBe('step 1 of 3\n');
  });

  it('that restarted in place shows the ended run with previous=true', async () => {
    await apply(pod('flaky', [['migrate', 'migrate:flaky']], 'OnFailure'));
    await until(() => {
      const p = double.objects('pods', NS).find((o) => meta(o).name === 'flaky');
      // Its readiness (1 s, before its 4 s run ends) must not reset the count, nor lastState.
      return p !== undefined && (containerStatus(p, 'migrate').restartCount as number) >= 2;
    });
    expect((await getLog('flaky', { previous: 'true' })).text).toBe('try\ncrashed\n');
    expect(ok(await k(['logs', 'flaky', '-n', NS, '--previous']))).toBe('try\ncrashed\n');
    // The new run has just begun: at most its first line so far.
    expect(['', 'try\n', 'try\ncrashed\n']).toContain((await getLog('flaky')).text);
  });
});

describe('the pod log subresource', () => {
  beforeAll(async () => {
    await apply(
      pod('two', [
        ['web', 'web:1'],
        ['proxy', 'sidecar:1'],
      ]),
    );
    await apply(pod('quiet', [['app', 'quiet:1']]));
    ok(await k(['wait', '--for=condition=Ready', 'pod/two', 'pod/quiet', '-n', NS, '--timeout=30s']));
  });

  it('needs a container name for a pod with more than one, and lists them', async () => {
    expect(await logError('two')).toEqual([
      400,
      'BadRequest',
      'a container name must be specified for pod two, choose one of: [web proxy]',
    ]);
    expect((await getLog('two', { container: 'proxy' })).text).toBe('proxy up\n');
    // A serving container prints its lines as it starts.
    expect((await getLog('two', { container: 'web' })).text).toBe('listening on :8080\nGET /health 200\n');
    expect(ok(await k(['logs', 'two', '-c', 'proxy', '-n', NS]))).toBe('proxy up\n');
  });

  it('refuses a container the pod does not have', async () => {
    expect(await logError('two', { container: 'nope' })).toEqual([
      400,
      'BadRequest',
      'container nope is not valid for pod two',
    ]);
    // kubectl checks the name against the pod it read before it asks for the log.
    expect(failed(await k(['logs', 'two', '-c', 'nope', '-n', NS]))).toBe(
      'error: container nope is not valid for pod two\n',
    );
  });

  it('answers 404 for a pod that does not exist', async () => {
    expect(await logError('ghost')).toEqual([404, 'NotFound', 'pods "ghost" not found']);
    expect(failed(await k(['logs', 'ghost', '-n', NS]))).toBe(
      `error: error from server (NotFound): pods "ghost" not found in namespace "${NS}"\n`,
    );
  });

  it('is empty for an image that declares no lines', async () => {
    expect(await getLog('quiet')).toEqual({ status: 200, type: 'text/plain', text: '' });
  });

  it('says a container waiting to start has no log yet', async () => {
    await apply(pod('pending', [['app', 'idle:1']]));
    await until(() => {
      const p = double.objects('pods', NS).find((o) => meta(o).name === 'pending');
      return typeof (p?.status as JsonObject | undefined)?.podIP === 'string';
    });
    // The double never holds a container back, so the kubelet's report is written by hand.
    const podType = builtInType('Pod');
    const live = double.api.get(podType, NS, 'pending');
    const waiting = structuredClone(live);
    const status = waiting.status as JsonObject;
    status.containerStatuses = [
      { ...containerStatus(live, 'app'), state: { waiting: { reason: 'ContainerCreating' } } },
    ];
    double.api.writeInternal(podType, live, waiting, 'status');
    expect(await logError('pending')).toEqual([
      400,
      'BadRequest',
      'container "app" in pod "pending" is waiting to start: ContainerCreating',
    ]);
  });

  it('is the pods/log subresource to access reviews', async () => {
    const logs = await k(['auth', 'can-i', 'get', 'pods', '--subresource=log', '-n', NS]);
    expect([logs.exitCode, logs.stdout.trim()]).toEqual([1, 'no - logs are private']);
    expect((await k(['auth', 'can-i', 'get', 'pods', '-n', NS])).exitCode).toBe(0);
  });
});

/** Polls `done` every 20 ms for up to 20 s. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 20) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('timed out');
}
