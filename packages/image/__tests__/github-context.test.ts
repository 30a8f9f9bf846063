import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ActionError, type Clock } from '@dreamscape/core';
import {
  computeTags,
  isDefaultBranch,
  ociLabels,
  parseTagRules,
  readGitHubContext,
  revisionOf,
  type LatestPolicy,
} from '../src/index.js';

const EVENTS = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'events');
const CLOCK: Clock = { now: () => Date.parse('2026-03-14T09:30:00Z'), sleep: () => Promise.resolve() };

const MAIN_SHA = '5bdc393cc5612a192916e6cdee1d9de3f1d9c10c';
const FEATURE_SHA = '28606de17cec8f366d9283cc8aae5f5d65bd9070';
const TAG_SHA = '7094e7444baa9b7ab1c71cd4a8fcdb18a89b1e42';
const PR_HEAD_SHA = '88336fa3acabcfa344a60b30d3acb70852e0c4e9';
const PR_MERGE_SHA = '51b6492c761938a31b4df4ca5b05a9bbc3a71ad1';

/** The variables the runner sets for each event, next to its payload file. */
function runnerEnv(event: string, file: string, vars: Record<string, string>): Record<string, string> {
  return {
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: join(EVENTS, file),
    GITHUB_REPOSITORY: 'DreamScape-Labs/Platform',
    GITHUB_REPOSITORY_OWNER: 'DreamScape-Labs',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_RUN_ID: '13811234567',
    GITHUB_RUN_NUMBER: '318',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'mara-okafor',
    GITHUB_WORKFLOW: 'Build',
    GITHUB_HEAD_REF: '',
    GITHUB_BASE_REF: '',
    ...vars,
  };
}

const ENVS = {
  pushMain: runnerEnv('push', 'push-branch.json', {
    GITHUB_SHA: MAIN_SHA,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
  }),
  pushFeature: runnerEnv('push', 'push-feature-branch.json', {
    GITHUB_SHA: FEATURE_SHA,
    GITHUB_REF: 'refs/heads/feature/Rate-Limits#2',
    GITHUB_REF_NAME: 'feature/Rate-Limits#2',
    GITHUB_REF_TYPE: 'branch',
  }),
  pushTag: runnerEnv('push', 'push-tag.json', {
    GITHUB_SHA: TAG_SHA,
    GITHUB_REF: 'refs/tags/v1.2.3',
    GITHUB_REF_NAME: 'v1.2.3',
    GITHUB_REF_TYPE: 'tag',
  }),
  pullRequest: runnerEnv('pull_request', 'pull-request.json', {
    GITHUB_SHA: PR_MERGE_SHA,
    GITHUB_REF: 'refs/pull/42/merge',
    GITHUB_REF_NAME: '42/merge',
    GITHUB_HEAD_REF: 'feature/itinerary-pdf',
    GITHUB_BASE_REF: 'main',
  }),
  dispatch: runnerEnv('workflow_dispatch', 'workflow-dispatch.json', {
    GITHUB_SHA: MAIN_SHA,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
  }),
  schedule: runnerEnv('schedule', 'schedule.json', {
    GITHUB_SHA: MAIN_SHA,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_REF_TYPE: 'branch',
  }),
};

/** A rule set a team would really write. */
const RULES = parseTagRules(
  [
    'type=schedule',
    'type=semver,pattern={{version}}',
    'type=semver,pattern={{major}}.{{minor}}',
    'type=semver,pattern={{major}}',
    'type=branch',
    'type=pr',
    'type=edge',
    'type=sha',
  ].join('\n'),
);

const REPO_LABELS = {
  'org.opencontainers.image.title': 'Platform',
  'org.opencontainers.image.description':
    'DreamScape travel platform: API gateway and the auth, user, voyage, payment, ai and panorama services',
  'org.opencontainers.image.url': 'https://github.com/DreamScape-Labs/Platform',
  'org.opencontainers.image.source': 'https://github.com/DreamScape-Labs/Platform',
  'org.opencontainers.image.created': '2026-03-14T09:30:00.000Z',
  'org.opencontainers.image.licenses': 'Apache-2.0',
};

interface Row {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly latest: LatestPolicy;
  readonly prHeadSha?: boolean;
  readonly tags: readonly string[];
  readonly version: string;
  readonly revision: string;
}

const TABLE: readonly Row[] = [
  {
    name: 'push to main, latest on the default branch',
    env: ENVS.pushMain,
    latest: 'default-branch',
    tags: ['edge', 'main', 'latest', 'sha-5bdc393'],
    version: 'edge',
    revision: MAIN_SHA,
  },
  {
    name: 'push to main, latest for releases only',
    env: ENVS.pushMain,
    latest: 'semver',
    tags: ['edge', 'main', 'sha-5bdc393'],
    version: 'edge',
    revision: MAIN_SHA,
  },
  {
    name: 'push to a feature branch (name sanitized)',
    env: ENVS.pushFeature,
    latest: 'default-branch',
    tags: ['feature-Rate-Limits-2', 'sha-28606de'],
    version: 'feature-Rate-Limits-2',
    revision: FEATURE_SHA,
  },
  {
    name: 'push of tag v1.2.3',
    env: ENVS.pushTag,
    latest: 'semver',
    tags: ['1.2.3', '1.2', '1', 'latest', 'sha-7094e74'],
    version: '1.2.3',
    revision: TAG_SHA,
  },
  {
    name: 'push of tag v1.2.3, latest never',
    env: ENVS.pushTag,
    latest: 'never',
    tags: ['1.2.3', '1.2', '1', 'sha-7094e74'],
    version: '1.2.3',
    revision: TAG_SHA,
  },
  {
    name: 'pull request: the merge commit by default',
    env: ENVS.pullRequest,
    latest: 'default-branch',
    tags: ['pr-42', 'sha-51b6492'],
    version: 'pr-42',
    revision: PR_MERGE_SHA,
  },
  {
    name: 'pull request: the head commit when asked',
    env: ENVS.pullRequest,
    latest: 'default-branch',
    prHeadSha: true,
    tags: ['pr-42', 'sha-88336fa'],
    version: 'pr-42',
    revision: PR_HEAD_SHA,
  },
  {
    name: 'workflow_dispatch on main',
    env: ENVS.dispatch,
    latest: 'default-branch',
    tags: ['edge', 'main', 'latest', 'sha-5bdc393'],
    version: 'edge',
    revision: MAIN_SHA,
  },
  {
    name: 'schedule on main',
    env: ENVS.schedule,
    latest: 'semver',
    tags: ['nightly', 'edge', 'main', 'sha-5bdc393'],
    version: 'nightly',
    revision: MAIN_SHA,
  },
];

describe('event fixture + runner env → tags and labels', () => {
  it.each(TABLE)('$name', (row) => {
    const context = readGitHubContext(row.env);
    const set = computeTags(RULES, context, {
      latest: row.latest,
      prHeadSha: row.prHeadSha ?? false,
      clock: CLOCK,
    });
    expect(set.tags).toEqual(row.tags);
    expect(set.version).toBe(row.version);
    expect(
      ociLabels(context, { version: set.version, clock: CLOCK, prHeadSha: row.prHeadSha ?? false }),
    ).toEqual({
      ...REPO_LABELS,
      'org.opencontainers.image.version': row.version,
      'org.opencontainers.image.revision': row.revision,
    });
  });
});

describe('readGitHubContext', () => {
  it('reads a pull request: merge commit, head commit, refs and the run URL', () => {
    const context = readGitHubContext(ENVS.pullRequest);
    expect(context).toMatchObject({
      eventName: 'pull_request',
      sha: PR_MERGE_SHA,
      ref: 'refs/pull/42/merge',
      refName: '42/merge',
      refType: 'pull',
      headRef: 'feature/itinerary-pdf',
      baseRef: 'main',
      runUrl: 'https://github.com/DreamScape-Labs/Platform/actions/runs/13811234567',
      pullRequest: {
        number: 42,
        headSha: PR_HEAD_SHA,
        headRef: 'feature/itinerary-pdf',
        baseRef: 'main',
        htmlUrl: 'https://github.com/DreamScape-Labs/Platform/pull/42',
      },
      repository: {
        owner: 'DreamScape-Labs',
        name: 'Platform',
        fullName: 'DreamScape-Labs/Platform',
        defaultBranch: 'main',
        license: 'Apache-2.0',
      },
    });
    expect(revisionOf(context)).toBe(PR_MERGE_SHA);
    expect(revisionOf(context, { prHeadSha: true })).toBe(PR_HEAD_SHA);
    expect(isDefaultBranch(context)).toBe(false);
  });

  it('reads a tag push', () => {
    const context = readGitHubContext(ENVS.pushTag);
    expect([context.refType, context.refName, context.pullRequest]).toEqual(['tag', 'v1.2.3', undefined]);
  });

  it('knows the default branch from the payload', () => {
    expect(isDefaultBranch(readGitHubContext(ENVS.pushMain))).toBe(true);
    expect(isDefaultBranch(readGitHubContext(ENVS.pushFeature))).toBe(false);
  });

  it('falls back to the environment when the payload has no repository (older schedule payloads)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-event-'));
    writeFileSync(join(dir, 'event.json'), '{"schedule": "17 3 * * *"}');
    const context = readGitHubContext({ ...ENVS.schedule, GITHUB_EVENT_PATH: join(dir, 'event.json') });
    expect(context.repository).toEqual({
      owner: 'DreamScape-Labs',
      name: 'Platform',
      fullName: 'DreamScape-Labs/Platform',
      htmlUrl: 'https://github.com/DreamScape-Labs/Platform',
      description: undefined,
      license: undefined,
      defaultBranch: undefined,
    });
    // Without a default branch, neither `edge` nor `latest` can be decided: both stay off ...
    const tags = computeTags(RULES, context, { latest: 'default-branch', clock: CLOCK });
    expect(tags.tags).toEqual(['nightly', 'main', 'sha-5bdc393']);
    // ... until the caller says what the default branch is.
    const told = computeTags(RULES, context, {
      latest: 'default-branch',
      clock: CLOCK,
      defaultBranch: 'main',
    });
    expect(told.tags).toEqual(['nightly', 'edge', 'main', 'latest', 'sha-5bdc393']);
    expect(ociLabels(context, { version: tags.version, clock: CLOCK })).toEqual({
      'org.opencontainers.image.title': 'Platform',
      'org.opencontainers.image.url': 'https://github.com/DreamScape-Labs/Platform',
      'org.opencontainers.image.source': 'https://github.com/DreamScape-Labs/Platform',
      'org.opencontainers.image.version': 'nightly',
      'org.opencontainers.image.created': '2026-03-14T09:30:00.000Z',
      'org.opencontainers.image.revision': MAIN_SHA,
    });
  });

  it('runs without a payload file, for local runs', () => {
    const context = readGitHubContext({
      GITHUB_REPOSITORY: 'octo-org/app',
      GITHUB_SHA: MAIN_SHA,
      GITHUB_REF: 'refs/heads/main',
    });
    expect(context.payload).toEqual({});
    expect(context.refName).toBe('main');
    expect(context.serverUrl).toBe('https://github.com');
    expect(context.runUrl).toBe('');
  });

  it('says which variable is missing', () => {
    expect(() => readGitHubContext({ GITHUB_SHA: MAIN_SHA })).toThrow(
      new ActionError('GITHUB_REPOSITORY is not set, so the workflow run cannot be described.'),
    );
    expect(() => readGitHubContext({ GITHUB_REPOSITORY: 'octo-org/app' })).toThrow(/^GITHUB_SHA is not set/);
  });

  it('refuses a payload file that is missing or not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ds-event-'));
    writeFileSync(join(dir, 'bad.json'), '{"ref": ');
    const base = { GITHUB_REPOSITORY: 'octo-org/app', GITHUB_SHA: MAIN_SHA };
    expect(() => readGitHubContext({ ...base, GITHUB_EVENT_PATH: join(dir, 'bad.json') })).toThrow(
      `The event payload ${join(dir, 'bad.json')} is not valid JSON.`,
    );
    expect(() => readGitHubContext({ ...base, GITHUB_EVENT_PATH: join(dir, 'missing.json') })).toThrow(
      `The event payload GITHUB_EVENT_PATH=${join(dir, 'missing.json')} cannot be read.`,
    );
  });
});
