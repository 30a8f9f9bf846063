import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  allJobs,
  executeWorkflow,
  localRepositories,
  pullRequestEvent,
  pushEvent,
  workflowDispatchEvent,
  writeScopes,
  type ActionStandIn,
  type ExecuteOptions,
  type GitHubEvent,
  type JobRecord,
  type StepRecord,
  type WorkflowRunRecord,
} from '../../src/index.js';

const REPO = { fullName: 'acme/app', defaultBranch: 'main' } as const;
const SHA = 'c'.repeat(40);
let lib: string;

beforeAll(() => {
  lib = mkdtempSync(join(tmpdir(), 'ds-executor-lib-'));
  mkdirSync(join(lib, '.github', 'workflows'), { recursive: true });
  writeFileSync(
    join(lib, '.github', 'workflows', 'callee.yml'),
    `on:
  workflow_call:
    inputs:
      name: { type: string, required: true }
      flag: { type: boolean, default: true }
      mode: { type: string, default: auto }
    secrets:
      TOKEN: { required: false }
    outputs:
      greeting:
        value: \${{ jobs.inner.outputs.greeting }}
permissions: {}
jobs:
  inner:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    outputs:
      greeting: \${{ steps.say.outputs.greeting }}
    steps:
      - id: say
        env:
          NAME: \${{ inputs.name }}
          FLAG: \${{ inputs.flag }}
          MODE: \${{ inputs.mode }}
          TOKEN: \${{ secrets.TOKEN }}
        run: |
          echo "greeting=hello $NAME $FLAG $MODE \${#TOKEN}" >> "$GITHUB_OUTPUT"
`,
  );
  writeFileSync(
    join(lib, '.github', 'workflows', 'greedy.yml'),
    `on: workflow_call
jobs:
  write:
    runs-on: ubuntu-latest
    permissions:
      packages: write
    steps:
      - run: echo never
`,
  );
});

afterAll(() => {
  rmSync(lib, { recursive: true, force: true });
});

const push = (): GitHubEvent => pushEvent(REPO, { ref: 'refs/heads/main', sha: SHA });

async function execute(
  yaml: string,
  o: Partial<Omit<ExecuteOptions, 'workflow'>> & { actions?: Readonly<Record<string, ActionStandIn>> } = {},
): Promise<WorkflowRunRecord> {
  return executeWorkflow({
    workflow: { path: '.github/workflows/main.yml', content: yaml },
    repository: REPO,
    event: o.event ?? push(),
    resolver: localRepositories({ 'acme/lib': lib }),
    secrets: { TOKEN: 'tok-S3CRET' },
    actions: {},
    ...o,
  });
}

const job = (r: WorkflowRunRecord, path: string): JobRecord => {
  const found = allJobs(r).find((j) => j.path === path);
  if (found === undefined) throw new Error(`no job ${path}`);
  return found;
};
const step = (j: JobRecord, id: string): StepRecord => {
  const found = j.steps.find((s) => s.id === id);
  if (found === undefined) throw new Error(`no step ${id}`);
  return found;
};

describe('conditions, with GitHub status functions', () => {
  it('skips a job whose needs failed unless its if calls a status function; steps likewise', async () => {
    const r = await execute(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: fails
        run: exit 3
      - id: after
        run: echo no
      - id: always
        if: always()
        run: echo yes
      - id: onfailure
        if: failure() && steps.fails.outcome == 'failure'
        run: echo yes
  b:
    needs: a
    runs-on: ubuntu-latest
    steps: [{ run: echo b }]
  c:
    needs: a
    if: always() && needs.a.result == 'failure'
    runs-on: ubuntu-latest
    steps: [{ run: echo c }]
  d:
    needs: c
    runs-on: ubuntu-latest
    steps: [{ run: echo d }]
`);
    const a = job(r, 'a');
    expect(a.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['fails', 'failure'],
      ['after', 'skipped'],
      ['always', 'success'],
      ['onfailure', 'success'],
    ]);
    expect(step(a, 'fails').error).toBe('Process completed with exit code 3.');
    expect(step(a, 'after').if.expression).toBe('success()');
    expect(['b', 'c', 'd'].map((id) => [id, job(r, id).result])).toEqual([
      ['b', 'skipped'],
      ['c', 'success'],
      // A failure anywhere up the chain counts, as on GitHub.
      ['d', 'skipped'],
    ]);
    expect(r.conclusion).toBe('failure');
  });

  it('keeps a job successful when a failing step may continue on error', async () => {
    const r = await execute(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: soft
        continue-on-error: true
        run: exit 1
      - run: echo next
`);
    expect(step(job(r, 'a'), 'soft')).toMatchObject({ outcome: 'failure', conclusion: 'success' });
    expect(job(r, 'a').result).toBe('success');
  });

  it('reads a condition written as a folded block scalar from its folded value', async () => {
    const r = await execute(`on: push
jobs:
  a:
    if: >-
      \${{ github.event_name == 'pull_request'
      && always() }}
    runs-on: ubuntu-latest
    steps: [{ run: echo a }]
`);
    expect(job(r, 'a').result).toBe('skipped');
  });
});

describe('run steps', () => {
  it('run with the default shell (bash -e, no pipefail) or the one named, in the workspace, with the runner environment', async () => {
    const r = await execute(`on: push
env:
  LEVEL: workflow
jobs:
  a:
    runs-on: ubuntu-latest
    env:
      LEVEL: job
    steps:
      - id: default
        run: false | true
      - id: named
        shell: bash
        continue-on-error: true
        run: false | true
      - id: where
        env:
          LEVEL: step
        run: |
          echo "dir=$PWD" >> "$GITHUB_OUTPUT"
          echo "level=$LEVEL ci=$CI temp=$RUNNER_TEMP event=$GITHUB_EVENT_NAME" >> "$GITHUB_OUTPUT"
          test -f "$GITHUB_EVENT_PATH"
`);
    const a = job(r, 'a');
    expect([step(a, 'default').outcome, step(a, 'default').run?.shell]).toEqual(['success', 'bash -e {0}']);
    expect([step(a, 'named').outcome, step(a, 'named').run?.shell]).toEqual([
      'failure',
      'bash --noprofile --norc -eo pipefail {0}',
    ]);
    const where = step(a, 'where');
    expect(where.outputs.dir).toBe(where.run?.environment.GITHUB_WORKSPACE);
    expect(where.outputs.level).toMatch(/^step ci=true temp=\/.+ event=push$/);
  });

  it('reads GITHUB_OUTPUT (heredocs too), GITHUB_ENV and GITHUB_PATH back, and the job outputs from them', async () => {
    const r = await execute(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    outputs:
      multi: \${{ steps.write.outputs.multi }}
      leaked: \${{ steps.write.outputs.leaked }}
    steps:
      - id: write
        env:
          TOKEN: \${{ secrets.TOKEN }}
        run: |
          { echo 'multi<<EOF'; echo 'line 1'; echo 'line 2'; echo EOF; } >> "$GITHUB_OUTPUT"
          echo "leaked=$TOKEN" >> "$GITHUB_OUTPUT"
          echo "EXPORTED=from step one" >> "$GITHUB_ENV"
          mkdir -p "$RUNNER_TEMP/bin" && printf '#!/bin/sh\\necho tool ran\\n' > "$RUNNER_TEMP/bin/mytool" && chmod +x "$RUNNER_TEMP/bin/mytool"
          echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"
          echo '### summary' >> "$GITHUB_STEP_SUMMARY"
          echo "::add-mask::masked-value"
          echo "masked-value and $TOKEN"
      - id: read
        run: |
          echo "seen=$EXPORTED $(mytool)" >> "$GITHUB_OUTPUT"
      - id: forbidden
        run: echo "NODE_OPTIONS=--require /tmp/x.js" >> "$GITHUB_ENV"
`);
    const a = job(r, 'a');
    expect(step(a, 'write').outputs.multi).toBe('line 1\nline 2');
    // What the script printed, secrets and masked values hidden as in the log.
    expect(step(a, 'write').run?.stdout).toBe('::add-mask::***\n*** and ***\n');
    expect(step(a, 'read').outputs.seen).toBe('from step one tool ran');
    expect(step(a, 'forbidden').error).toMatch(/NODE_OPTIONS/);
    // GitHub drops a job output that holds a secret.
    expect([a.outputs, a.droppedOutputs]).toEqual([{ multi: 'line 1\nline 2' }, ['leaked']]);
    expect(a.summary).toBe('### summary\n');
  });

  it('puts stand-ins of network tools first on PATH: an unexpected one fails with 127 and is recorded', async () => {
    const r = await execute(
      `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: allowed
        run: curl --fail https://example.invalid/x
      - id: unexpected
        run: kubectl get pods
`,
      { tools: { curl: { stdout: 'ok' } } },
    );
    const a = job(r, 'a');
    expect(step(a, 'allowed').toolCalls).toEqual([
      expect.objectContaining({ tool: 'curl', argv: ['--fail', 'https://example.invalid/x'], allowed: true }),
    ]);
    expect(step(a, 'unexpected').run?.exitCode).toBe(127);
    expect(step(a, 'unexpected').toolCalls).toEqual([
      expect.objectContaining({ tool: 'kubectl', argv: ['get', 'pods'], allowed: false }),
    ]);
  });

  it('refuses the disabled set-env command, and reads the deprecated set-output', async () => {
    const r = await execute(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: out
        run: echo "::set-output name=x::1"
      - id: env
        if: always()
        run: echo "::set-env name=X::1"
`);
    expect(step(job(r, 'a'), 'out').outputs).toEqual({ x: '1' });
    expect(step(job(r, 'a'), 'env').error).toBe('The `set-env` command is disabled.');
  });
});

describe('actions', () => {
  it('are replaced by stand-ins and recorded with their evaluated with:, env and the secrets the job could see', async () => {
    const r = await execute(
      `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: build
        uses: acme/build-action@0123456789012345678901234567890123456789
        env:
          MODE: fast
        with:
          image: ghcr.io/acme/\${{ github.event_name }}
          token: \${{ github.token }}
      - run: test "$DIGEST_OUT" = sha256:1
        env:
          DIGEST_OUT: \${{ steps.build.outputs.digest }}
`,
      {
        actions: {
          'acme/build-action': (call) => ({
            outputs: { digest: call.with.image === 'ghcr.io/acme/push' ? 'sha256:1' : 'x' },
          }),
        },
      },
    );
    const a = job(r, 'a');
    const call = step(a, 'build').action;
    expect(call).toMatchObject({
      action: 'acme/build-action',
      ref: '0123456789012345678901234567890123456789',
      with: { image: 'ghcr.io/acme/push', token: a.token },
      secrets: { TOKEN: 'tok-S3CRET', GITHUB_TOKEN: a.token },
    });
    expect(call?.env.MODE).toBe('fast');
    expect(a.result).toBe('success');
  });

  it('an action without a stand-in is an error of the test', async () => {
    await expect(
      execute(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps: [{ uses: acme/unknown@v1 }]
`),
    ).rejects.toThrow('no stand-in for action acme/unknown');
  });
});

describe('reusable workflows, secrets and permissions', () => {
  const caller = (secrets: string, permissions = 'contents: read'): string => `on: [push, pull_request]
permissions: {}
jobs:
  call:
    uses: acme/lib/.github/workflows/callee.yml@v1
    permissions:
      ${permissions}
    with:
      name: \${{ github.actor }}
${secrets}
  after:
    needs: call
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - id: read
        env:
          GREETING: \${{ needs.call.outputs.greeting }}
        run: echo "got=$GREETING" >> "$GITHUB_OUTPUT"
`;

  it('passes typed inputs with defaults and only the secrets mapped; its outputs reach the jobs after it', async () => {
    const r = await execute(caller('    secrets:\n      TOKEN: ${{ secrets.TOKEN }}'));
    const inner = job(r, 'call/inner');
    expect(job(r, 'call').inputs).toEqual({ name: 'octocat', flag: true, mode: 'auto' });
    expect(inner.secrets).toEqual({ TOKEN: 'tok-S3CRET', GITHUB_TOKEN: inner.token });
    expect(inner.permissions).toMatchObject({ contents: 'read', packages: 'none' });
    expect(step(job(r, 'after'), 'read').outputs.got).toBe('hello octocat true auto 10');
  });

  it('passes no secret unless mapped or inherited', async () => {
    const none = await execute(caller(''));
    expect(job(none, 'call/inner').secrets).toEqual({ GITHUB_TOKEN: job(none, 'call/inner').token });
    const inherited = await execute(caller('    secrets: inherit'));
    expect(job(inherited, 'call/inner').secrets.TOKEN).toBe('tok-S3CRET');
  });

  it("gives a fork's pull request no secret and a read-only token", async () => {
    const event = pullRequestEvent(REPO, {
      number: 3,
      headRepository: 'mallory/app',
      headRef: 'main',
      headSha: 'f'.repeat(40),
      mergeSha: 'e'.repeat(40),
    });
    const r = await execute(caller('    secrets: inherit', 'contents: write'), { event });
    const inner = job(r, 'call/inner');
    expect(inner.secrets).toEqual({ GITHUB_TOKEN: inner.token });
    expect(writeScopes(inner.permissions)).toEqual([]);
    expect(step(job(r, 'after'), 'read').outputs.got).toBe('hello contributor true auto 0');
  });

  it('fails the run at startup when a called job asks for more than the caller grants, whatever the if says', async () => {
    const r = await execute(`on: push
permissions: {}
jobs:
  call:
    if: false
    uses: acme/lib/.github/workflows/greedy.yml@v1
    permissions:
      packages: read
`);
    expect([r.status, r.jobs]).toEqual(['startup-failure', []]);
    expect(r.reason).toMatch(
      /the nested job 'write' of \.github\/workflows\/greedy\.yml is requesting 'packages: write', but is only allowed 'packages: read'/,
    );
  });

  it('fails the calling job when a boolean input is given text', async () => {
    const r = await execute(`on: push
jobs:
  call:
    uses: acme/lib/.github/workflows/callee.yml@v1
    with:
      name: x
      flag: \${{ 'true' }}
`);
    expect(job(r, 'call')).toMatchObject({
      result: 'failure',
      error: expect.stringMatching(/input flag is a boolean, got "true"/),
    });
    expect(job(r, 'call').jobs).toEqual([]);
  });
});

describe('matrices and triggers', () => {
  it('runs a job per combination; fail-fast cancels the legs after a failure', async () => {
    const r = await execute(`on: push
jobs:
  m:
    name: m \${{ matrix.n }}
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2, 3]
    steps:
      - run: test "\${{ matrix.n }}" != 2
`);
    expect(allJobs(r).map((j) => [j.name, j.result])).toEqual([
      ['m 1', 'success'],
      ['m 2', 'failure'],
      ['m', 'cancelled'],
    ]);
  });

  it('starts on the events and refs the filters name ($default-branch included)', async () => {
    const yaml = `on:
  push:
    branches: [$default-branch]
  workflow_dispatch:
    inputs:
      level: { type: choice, options: [low, high], required: true }
      dry: { type: boolean, default: false }
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ inputs.level }} \${{ inputs.dry }}"
`;
    expect((await execute(yaml, { event: pushEvent(REPO, { ref: 'refs/tags/v1', sha: SHA }) })).status).toBe(
      'not-triggered',
    );
    expect(
      (await execute(yaml, { event: pushEvent(REPO, { ref: 'refs/heads/dev', sha: SHA }) })).status,
    ).toBe('not-triggered');
    const dispatch = (inputs: Record<string, unknown>): GitHubEvent =>
      workflowDispatchEvent(REPO, { sha: SHA, inputs, workflow: 'main.yml' });
    expect((await execute(yaml, { event: dispatch({ level: 'mid' }) })).reason).toBe(
      "Provided value 'mid' for input 'level' not in the list of allowed values",
    );
    const ok = await execute(yaml, { event: dispatch({ level: 'high', dry: 'true' }) });
    expect([ok.status, ok.inputs]).toEqual(['ran', { level: 'high', dry: true }]);
    expect(job(ok, 'a').steps[0]?.run?.script).toBe('echo "high true"');
  });
});
