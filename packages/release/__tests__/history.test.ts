import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { ActionError, HttpTransportError, MemoryLogger, type Clock } from '@dreamscape/core';
import { KubeApiError, type Secret } from '@dreamscape/kube';
import {
  historySelector,
  isConflict,
  packManifest,
  RELEASE_SECRET_TYPE,
  ReleaseHistory,
  releaseSecretName,
  unpackManifest,
  type ReleaseRecord,
  type ReleaseResult,
} from '../src/index.js';
import { FakeClusterApi } from './support/fake-api.js';

const scope = { app: 'shop', environment: 'prod', namespace: 'shop' };

function record(
  revision: number,
  result: ReleaseResult = 'promoted',
  manifest = `rev: ${revision}\n`,
): ReleaseRecord {
  return {
    schema: 1,
    app: scope.app,
    environment: scope.environment,
    namespace: scope.namespace,
    revision,
    kind: 'deploy',
    strategy: 'blue-green',
    result,
    color: revision % 2 === 1 ? 'blue' : 'green',
    previousColor: revision === 1 ? undefined : revision % 2 === 1 ? 'green' : 'blue',
    previousRevision: revision - 1,
    manifestHash: `sha256:${String(revision).padStart(64, '0')}`,
    manifest: packManifest(manifest),
    images: { 'web/web': `registry.local/web@sha256:${String(revision).padStart(64, '0')}` },
    services: [{ name: 'web', deployment: 'web' }],
    replicas: { web: 2 },
    checks: '',
    commit: 'abc123',
    runId: String(revision),
    runUrl: `https://github.com/o/r/actions/runs/${revision}`,
    actor: 'me',
    reason: '',
    rollbackTo: undefined,
    rolloutRevisions: {},
    startedAt: '2030-01-01T00:00:00.000Z',
    finishedAt: result === 'in-progress' ? undefined : '2030-01-01T00:01:00.000Z',
    message: '',
    journal: [{ step: 'started', at: '2030-01-01T00:00:00.000Z' }],
    gates: [],
  };
}

function setup(limit?: number) {
  const api = new FakeClusterApi();
  const logger = new MemoryLogger();
  const slept: number[] = [];
  const clock: Clock = {
    now: () => Date.UTC(2030, 0, 1),
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  };
  const history = new ReleaseHistory(api, logger, scope, {
    ...(limit === undefined ? {} : { limit }),
    clock,
  });
  return { api, logger, history, slept };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('ReleaseHistory', () => {
  it('stores one labelled Secret per revision, the record gzipped inside', async () => {
    const { api, history } = setup();
    const stored = await history.create(record(1));
    const secret = api.peek<Secret>('Secret', 'shop', 'dreamscape-release-shop-prod-v1');
    expect(secret?.type).toBe(RELEASE_SECRET_TYPE);
    expect(secret?.metadata.labels).toEqual({
      'dreamscape.io/app': 'shop',
      'dreamscape.io/environment': 'prod',
      'app.kubernetes.io/managed-by': 'dreamscape',
      'dreamscape.io/revision': '1',
      'dreamscape.io/result': 'promoted',
    });
    expect(stored.resourceVersion).toBe(secret?.metadata.resourceVersion);
    const data = secret?.data?.['release.json.gz'] ?? '';
    expect(JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8'))).toEqual(
      JSON.parse(JSON.stringify(record(1))),
    );
  });

  it('lists the records of its environment and app only, newest first', async () => {
    const { api, history } = setup();
    for (const revision of [2, 10, 1, 3]) await history.create(record(revision));
    const other = new ReleaseHistory(api, new MemoryLogger(), { ...scope, environment: 'staging' });
    await other.create({ ...record(11), environment: 'staging' });
    // A Secret with our labels but another type is not a release record.
    api.seed({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'lookalike',
        namespace: 'shop',
        labels: {
          'dreamscape.io/app': 'shop',
          'dreamscape.io/environment': 'prod',
          'app.kubernetes.io/managed-by': 'dreamscape',
        },
      },
      data: {},
    });
    const listed = await history.list();
    expect(listed.map((s) => s.record.revision)).toEqual([10, 3, 2, 1]);
    expect(listed.every((s) => s.resourceVersion !== '')).toBe(true);
    expect((await other.list()).map((s) => s.record.revision)).toEqual([11]);
  });

  it('refuses a revision number that is already taken (AlreadyExists, a lost race)', async () => {
    const { history } = setup();
    await history.create(record(4));
    const error = await rejection(history.create(record(4, 'in-progress')));
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).reason).toBe('AlreadyExists');
    expect(isConflict(error)).toBe(true);
    expect((await history.list())[0]?.record.result).toBe('promoted');
  });

  it('an update refused with 409 while the record is unchanged is written again from a fresh read', async () => {
    const { history, api, slept } = setup();
    const first = await history.create(record(1, 'in-progress'));
    api.fail('replace', {
      times: 1,
      error: new KubeApiError('PUT', 'secrets', 409, 'Conflict', 'the object has been modified'),
    });
    const updated = await history.update(first, { ...first.record, result: 'promoted' });
    expect(api.count('replace')).toBe(2);
    expect(slept).toEqual([100]);
    const [live] = await history.list();
    expect(live?.record.result).toBe('promoted');
    expect(live?.resourceVersion).toBe(updated.resourceVersion);
  });

  it('an update whose answer was lost (a 5xx after the write landed) is not written twice', async () => {
    const { history, api } = setup();
    const first = await history.create(record(1, 'in-progress'));
    api.fail('replace', {
      times: 1,
      afterWrite: true,
      error: new KubeApiError('PUT', 'secrets', 504, 'Timeout', 'the server was unable to return a response'),
    });
    const updated = await history.update(first, { ...first.record, result: 'promoted', message: 'once' });
    expect(api.count('replace')).toBe(1);
    const [live] = await history.list();
    expect(live?.record).toMatchObject({ result: 'promoted', message: 'once' });
    expect(live?.resourceVersion).toBe(updated.resourceVersion);
  });

  it('an update whose connection dropped after the write landed is not written twice', async () => {
    const { history, api } = setup();
    const first = await history.create(record(1, 'in-progress'));
    api.fail('replace', {
      times: 1,
      afterWrite: true,
      error: new HttpTransportError(
        'http://127.0.0.1/x',
        'UND_ERR_SOCKET',
        'PUT … failed while reading the answer: other side closed',
      ),
    });
    const updated = await history.update(first, { ...first.record, result: 'promoted', message: 'once' });
    expect(api.count('replace')).toBe(1);
    const [live] = await history.list();
    expect(live?.record).toMatchObject({ result: 'promoted', message: 'once' });
    expect(live?.resourceVersion).toBe(updated.resourceVersion);
  });

  it('gives up after four attempts of a transient error, and at once on a real one', async () => {
    const { history, api, slept } = setup();
    const first = await history.create(record(1, 'in-progress'));
    api.fail('replace', {
      times: 4,
      error: new KubeApiError('PUT', 'secrets', 503, 'ServiceUnavailable', 'try later'),
    });
    const error = await rejection(history.update(first, { ...first.record, result: 'promoted' }));
    expect((error as KubeApiError).reason).toBe('ServiceUnavailable');
    expect(api.count('replace')).toBe(4);
    expect(slept).toEqual([100, 200, 400]);

    api.fail('replace', { times: 1, error: new KubeApiError('PUT', 'secrets', 403, 'Forbidden', 'no') });
    const forbidden = await rejection(history.update(first, { ...first.record, result: 'promoted' }));
    expect((forbidden as KubeApiError).reason).toBe('Forbidden');
    expect(api.count('replace')).toBe(5);
  });

  it('updates compare-and-swap: a writer holding an older read gets a Conflict', async () => {
    const { history } = setup();
    const first = await history.create(record(1, 'in-progress'));
    const ours = await history.update(first, { ...first.record, result: 'promoted', message: 'ours' });
    expect(ours.resourceVersion).not.toBe(first.resourceVersion);

    const error = await rejection(
      history.update(first, { ...first.record, result: 'failed', message: 'theirs' }),
    );
    expect((error as KubeApiError).reason).toBe('Conflict');
    expect(isConflict(error)).toBe(true);

    const [live] = await history.list();
    expect(live?.record).toMatchObject({ result: 'promoted', message: 'ours' });
    expect(live?.resourceVersion).toBe(ours.resourceVersion);
    // The next update from the fresh read goes through.
    await history.update(live!, { ...live!.record, message: 'again' });
    expect((await history.list())[0]?.record.message).toBe('again');
  });

  it('labels a record with its current result', async () => {
    const { api, history } = setup();
    const stored = await history.create(record(7, 'in-progress'));
    await history.update(stored, { ...stored.record, result: 'rolled-back' });
    expect(
      api.peek<Secret>('Secret', 'shop', 'dreamscape-release-shop-prod-v7')?.metadata.labels,
    ).toMatchObject({
      'dreamscape.io/result': 'rolled-back',
    });
  });

  it('prunes to the last 10 finished records and never an in-progress one', async () => {
    const { api, history } = setup();
    // v1 is in progress (a run that died): however old, it is kept for the journal.
    await history.create(record(1, 'in-progress'));
    for (let revision = 2; revision <= 14; revision++)
      await history.create(record(revision, revision === 9 ? 'failed' : 'promoted'));
    await history.create(record(15, 'in-progress'));

    await history.prune(await history.list());
    expect((await history.list()).map((s) => s.record.revision)).toEqual([
      15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 1,
    ]);
    expect(api.count('delete')).toBe(3);
  });

  it('prunes the oldest first, so a run stopped part way leaves no gap in the history', async () => {
    const { api, history } = setup(2);
    for (let revision = 1; revision <= 5; revision++) await history.create(record(revision));
    await history.prune(await history.list());
    expect(api.calls.filter((c) => c.op === 'delete').map((c) => c.target.split('/').pop())).toEqual([
      'dreamscape-release-shop-prod-v1',
      'dreamscape-release-shop-prod-v2',
      'dreamscape-release-shop-prod-v3',
    ]);
  });

  it('prunes to a smaller limit when given one, and keeps everything under it', async () => {
    const { history } = setup(2);
    for (let revision = 1; revision <= 4; revision++) await history.create(record(revision));
    await history.prune(await history.list());
    expect((await history.list()).map((s) => s.record.revision)).toEqual([4, 3]);
    await history.prune(await history.list());
    expect((await history.list()).map((s) => s.record.revision)).toEqual([4, 3]);
  });

  it('logs a record it cannot prune and goes on with the others', async () => {
    const { api, logger } = setup();
    const history = new ReleaseHistory(api, logger, scope, { limit: 1 });
    for (let revision = 1; revision <= 3; revision++) await history.create(record(revision));
    api.fail('delete', {
      name: 'dreamscape-release-shop-prod-v2',
      error: new KubeApiError('DELETE', 'secrets', 403, 'Forbidden', 'cannot delete secrets'),
    });
    await expect(history.prune(await history.list())).resolves.toBeUndefined();
    expect((await history.list()).map((s) => s.record.revision)).toEqual([3, 2]);
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      'Could not prune release record v2: KubeApiError: DELETE secrets failed: 403 Forbidden: cannot delete secrets',
    ]);
  });

  it('says which record was edited by hand when its data is gone', async () => {
    const { api, history } = setup();
    await history.create(record(1));
    await history.create(record(3));
    const secret = api.peek<Secret>('Secret', 'shop', 'dreamscape-release-shop-prod-v3')!;
    delete secret.data;
    await api.replace(secret);
    const error = await rejection(history.list());
    expect(error).toBeInstanceOf(ActionError);
    expect((error as Error).message).toBe(
      'Release record dreamscape-release-shop-prod-v3 has no release.json.gz: it was edited by hand.',
    );
  });

  it.each([
    ['namespace', 'kube-system'],
    ['app', 'other'],
    ['environment', 'staging'],
  ] as const)(
    'refuses a record that names another %s than the Secret it is stored in',
    async (field, value) => {
      const { api, history } = setup();
      await history.create(record(1));
      await history.create(record(2));
      const secret = api.peek<Secret>('Secret', 'shop', 'dreamscape-release-shop-prod-v2')!;
      const edited = { ...record(2), [field]: value };
      secret.data = { 'release.json.gz': gzipSync(Buffer.from(JSON.stringify(edited))).toString('base64') };
      await api.replace(secret);
      const error = await rejection(history.list());
      expect(error).toBeInstanceOf(ActionError);
      expect((error as Error).message).toBe(
        `Release record dreamscape-release-shop-prod-v2 in namespace shop belongs to another release: its ${field} is "${value}", not "${scope[field]}". Refused: a record is used only in the namespace, app and environment it is stored for.`,
      );
    },
  );

  it('refuses a record edited into a gzip bomb without decompressing it all', async () => {
    const { api, history } = setup();
    await history.create(record(2));
    const secret = api.peek<Secret>('Secret', 'shop', 'dreamscape-release-shop-prod-v2')!;
    // 17 MiB of zeros: about 17 KiB compressed, well within what a Secret holds.
    secret.data = { 'release.json.gz': gzipSync(Buffer.alloc(17 * 1024 * 1024)).toString('base64') };
    await api.replace(secret);
    await expect(history.list()).rejects.toThrow(
      'Release record dreamscape-release-shop-prod-v2 decompresses to more than 16 MiB: refused.',
    );
  });

  it('refuses a record whose JSON nests beyond the record limits', async () => {
    const { api, history } = setup();
    await history.create(record(2));
    const secret = api.peek<Secret>('Secret', 'shop', 'dreamscape-release-shop-prod-v2')!;
    const deep = `${'['.repeat(1000)}${']'.repeat(1000)}`;
    secret.data = { 'release.json.gz': gzipSync(Buffer.from(deep)).toString('base64') };
    await api.replace(secret);
    await expect(history.list()).rejects.toThrow(
      'Release record dreamscape-release-shop-prod-v2: nested too deeply: more than the limit of 32 levels',
    );
  });

  it('says which record cannot be read when its data is not gzip', async () => {
    const { api, history } = setup();
    await history.create(record(2));
    const secret = api.peek<Secret>('Secret', 'shop', 'dreamscape-release-shop-prod-v2')!;
    secret.data = { 'release.json.gz': Buffer.from('{"hand": "edited"}').toString('base64') };
    await api.replace(secret);
    await expect(history.list()).rejects.toThrow(
      /^Release record dreamscape-release-shop-prod-v2 cannot be read: /,
    );
  });
});

describe('packManifest / unpackManifest', () => {
  it.each([
    ['a plain manifest', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n'],
    ['CRLF line ends and trailing spaces', 'a: 1  \r\nb: 2\r\n\r\n'],
    ['no final newline', 'a: 1'],
    ['non-ASCII text', 'greeting: "grüße, 你好, 🚀"\n'],
    ['an empty manifest', ''],
  ])('round-trips %s byte for byte', (_what, text) => {
    const packed = packManifest(text);
    expect(packed).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const back = unpackManifest({ manifest: packed });
    expect(Buffer.from(back, 'utf8').equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('round-trips through a stored record', async () => {
    const { history } = setup();
    const text = '---\nkind: Secret\nstringData:\n  password: "p@ss\\tword"\n...\n';
    await history.create(record(1, 'promoted', text));
    const [stored] = await history.list();
    expect(unpackManifest(stored!.record)).toBe(text);
  });
});

describe('names', () => {
  it('names the Secret of a revision and the selector of a history', () => {
    expect(releaseSecretName(scope, 12)).toBe('dreamscape-release-shop-prod-v12');
    expect(historySelector(scope)).toBe(
      'dreamscape.io/app=shop,dreamscape.io/environment=prod,app.kubernetes.io/managed-by=dreamscape',
    );
  });
});
