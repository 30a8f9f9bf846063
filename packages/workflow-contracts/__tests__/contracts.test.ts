import { describe, expect, it } from '@jest/globals';
import {
  checkCallerPermissions,
  checkCalls,
  checkOutputReferences,
  checkPermissions,
  checkPins,
  checkRunScripts,
  checkSecrets,
  checkWorkflow,
  isProductWorkflow,
  namesOurAction,
  parseUses,
  type WorkflowFile,
} from '../src/index.js';
import { root, withExtra, workflows } from './support.js';

const context = { root, files: workflows };
const messages = (violations: readonly { message: string }[]): string[] => violations.map((v) => v.message);

/** A job calling our actions, for the negative cases. */
function sample(body: string, path = 'workflows/sample.yml'): { file: WorkflowFile; files: WorkflowFile[] } {
  const { files, added } = withExtra({ [path]: body });
  return { file: added[0]!, files };
}

describe('the workflows of this repository', () => {
  const product = workflows.filter(isProductWorkflow);

  it('are the four reusable workflows and the starter workflows', () => {
    expect(product.map((w) => w.path)).toEqual(
      expect.arrayContaining([
        '.github/workflows/build-scan.yml',
        '.github/workflows/deploy.yml',
        '.github/workflows/pr-checks.yml',
        '.github/workflows/rollback.yml',
        'workflows/dreamscape-pipeline.yml',
        'workflows/dreamscape-rollback.yml',
        'workflows/dreamscape-single-service.yml',
      ]),
    );
    expect(product.map((w) => w.path)).not.toContain('.github/workflows/ci.yml');
  });

  it("pass the caller's confinement allowances to the actions that apply manifests", () => {
    const deploy = workflows.find((w) => w.path === '.github/workflows/deploy.yml');
    const steps = Object.values(deploy?.doc.jobs ?? {}).flatMap((j) => j.steps ?? []);
    const step = (action: string): Record<string, unknown> | undefined =>
      steps.find((s) => namesOurAction(s.uses, action))?.with;
    expect(step('action-deploy')).toMatchObject({
      'allow-cluster-objects': '${{ inputs.allow-cluster-objects }}',
      'allow-remote-hosts': '${{ inputs.allow-remote-hosts }}',
    });
    expect(step('action-rollback')).toMatchObject({
      'allow-cluster-objects': '${{ inputs.allow-cluster-objects }}',
    });
  });

  it.each(workflows.map((w) => [w.path, w] as const))('%s keeps every contract', (_path, file) => {
    expect(checkWorkflow(file, context)).toEqual([]);
  });

  it('call our actions and workflows many times, so the call contracts are exercised', () => {
    const calls = product.flatMap((w) =>
      Object.values(w.doc.jobs ?? {}).flatMap((j) => [j.uses, ...(j.steps ?? []).map((s) => s.uses)]),
    );
    const ours = calls.flatMap((u) => {
      const ref = u === undefined ? undefined : parseUses(u);
      return ref?.kind === 'our-action' ? [ref.dir] : ref?.kind === 'our-workflow' ? [ref.path] : [];
    });
    for (const name of [
      'action-build',
      'action-scan',
      'action-deploy',
      'action-rollback',
      'action-changes',
      '.github/workflows/build-scan.yml',
      '.github/workflows/deploy.yml',
      '.github/workflows/pr-checks.yml',
      '.github/workflows/rollback.yml',
    ])
      expect(ours).toContain(name);
  });
});

describe('checkCalls', () => {
  it('reports an input the action does not declare, and a required input not given', () => {
    const { file, files } = sample(`
on: push
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - uses: dreamscape/actions/action-deploy@v1
        with:
          overlay: k8s/overlays/dev
          enviroment: dev
`);
    expect(messages(checkCalls(file, { root, files }))).toEqual([
      "'enviroment' is not an input of action-deploy/action.yml",
      "the required input 'environment' of action-deploy/action.yml is not given",
    ]);
  });

  it('reports calls of reusable workflows: inputs, types, secrets, refs', () => {
    const { file, files } = sample(`
on: push
permissions: {}
jobs:
  build:
    uses: dreamscape/actions/.github/workflows/build-scan.yml@main
    permissions: {}
    with:
      all: 'yes'
      services-file: true
      flavour: vanilla
    secrets:
      NPM_TOKEN: x
  deploy:
    uses: dreamscape/actions/.github/workflows/deploy.yml@v1
    permissions: {}
  nothing:
    uses: dreamscape/actions/action-nothing@v1
    permissions: {}
`);
    expect(messages(checkCalls(file, { root, files }))).toEqual([
      'dreamscape/actions/.github/workflows/build-scan.yml@main should use @v1, like every reference to ours',
      '\'all\' is a boolean input of .github/workflows/build-scan.yml, given "yes"',
      "'services-file' is a string input of .github/workflows/build-scan.yml, given true",
      "'flavour' is not an input of .github/workflows/build-scan.yml",
      "the secret 'NPM_TOKEN' is not declared by .github/workflows/build-scan.yml",
      "the required input 'environment' of .github/workflows/deploy.yml is not given",
      'dreamscape/actions/action-nothing@v1 names nothing in this repository',
    ]);
  });
});

describe('references to our actions and workflows', () => {
  const body = `
on: workflow_call
permissions: {}
jobs:
  build:
    uses: dreamscape/actions/.github/workflows/build-scan.yml@v1
    permissions: {}
  scan:
    uses: $/.github/workflows/build-scan.yml
    permissions: {}
  deploy:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - uses: dreamscape/actions/action-deploy@v1
        with: { overlay: k8s/overlays/dev, environment: dev }
      - uses: $/action-deploy
        with: { overlay: k8s/overlays/dev, environment: dev }
`;

  it("in this repository's workflows are written $/, so a caller pinning a workflow by commit runs that commit's actions", () => {
    const { file, files } = sample(body, '.github/workflows/sample.yml');
    expect(messages(checkCalls(file, { root, files }))).toEqual([
      "dreamscape/actions/.github/workflows/build-scan.yml@v1 should be $/.github/workflows/build-scan.yml: this repository's workflows run our actions of their own commit",
      "dreamscape/actions/action-deploy@v1 should be $/action-deploy: this repository's workflows run our actions of their own commit",
    ]);
  });

  it("in a consumer's workflow are written dreamscape/actions/...@v1: there $/ names the consumer's repository", () => {
    const { file, files } = sample(body, 'workflows/sample.yml');
    expect(messages(checkCalls(file, { root, files }))).toEqual([
      '$/.github/workflows/build-scan.yml would resolve in the repository that runs this workflow; use dreamscape/actions/.github/workflows/build-scan.yml@v1',
      '$/action-deploy would resolve in the repository that runs this workflow; use dreamscape/actions/action-deploy@v1',
    ]);
  });
});

describe('checkOutputReferences', () => {
  it('reports outputs that no action, script or job produces', () => {
    const { file, files } = sample(`
on:
  workflow_call:
    outputs:
      digest:
        value: \${{ jobs.build.outputs.digest }}
      missing:
        value: \${{ jobs.nowhere.outputs.x }}
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: {}
    outputs:
      image: \${{ steps.build.outputs.image }}
      size: \${{ steps.build.outputs.size }}
    steps:
      - if: steps.build.outputs.image != ''
        run: echo early
      - id: build
        uses: dreamscape/actions/action-build@v1
      - id: script
        run: echo "written=1" >> "$GITHUB_OUTPUT"
      - env:
          A: \${{ steps.script.outputs.written }}
          B: \${{ steps.script.outputs.unwritten }}
          C: \${{ steps.cache.outputs.cache-hit }}
        run: echo "$A $B $C"
      - id: cache
        uses: actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae # v5.0.5
      - env:
          D: \${{ steps.cache.outputs.cache-hit }}
        run: echo "$D"
  deploy:
    runs-on: ubuntu-latest
    needs: build
    permissions: {}
    if: needs.build.result == 'success' && needs.scan.result == 'success'
    steps:
      - uses: dreamscape/actions/action-deploy@v1
        with:
          overlay: k8s
          environment: dev
          images: \${{ needs.build.outputs.image }} \${{ needs.build.outputs.digest }}
`);
    expect(messages(checkOutputReferences(file, { root, files }))).toEqual([
      "steps.build is not a step before this one in job 'build'",
      "the script of step 'script' never writes 'unwritten' to GITHUB_OUTPUT",
      "steps.cache is not a step before this one in job 'build'",
      "the outputs of actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae (step 'cache') cannot be checked",
      "step 'build' (dreamscape/actions/action-build@v1) has no output 'size'",
      "job 'build' has no output 'digest'",
      "needs.scan is used but job 'deploy' does not need it",
      "job 'build' has no output 'digest'",
      "job 'nowhere' does not exist",
    ]);
  });

  it('knows the outputs of a job that calls a reusable workflow', () => {
    const { file, files } = sample(`
on: push
permissions: {}
jobs:
  build:
    uses: dreamscape/actions/.github/workflows/build-scan.yml@v1
    permissions: {}
  deploy:
    needs: build
    uses: dreamscape/actions/.github/workflows/deploy.yml@v1
    permissions: {}
    with:
      environment: dev
      images: \${{ needs.build.outputs.records }}\${{ needs.build.outputs.digests }}
`);
    expect(messages(checkOutputReferences(file, { root, files }))).toEqual([
      "job 'build' has no output 'digests'",
    ]);
  });
});

describe('checkRunScripts', () => {
  it('reports every expression inside a script, trusted or not', () => {
    const { file } = sample(`
on: pull_request
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - run: echo "\${{ github.event.pull_request.title }}"
      - run: |
          echo ok
          deploy --to \${{ inputs.environment }} --ref \${{ github.head_ref }}
      - env:
          TITLE: \${{ github.event.pull_request.title }}
        run: echo "$TITLE"
`);
    expect(messages(checkRunScripts(file))).toEqual([
      'the script contains the expression ${{ github.event.pull_request.title }}; pass the value through env: instead',
      'the script contains the expression ${{ inputs.environment }}; pass the value through env: instead',
      'the script contains the expression ${{ github.head_ref }}; pass the value through env: instead',
    ]);
  });
});

describe('checkPins', () => {
  it('reports tags, short SHAs, missing version comments, local references and images without digests', () => {
    const { file } = sample(`
on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions: {}
    services:
      db:
        image: postgres:16
      registry:
        image: \${{ github.event_name == 'pull_request' && 'registry:2' || '' }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/checkout@3d3c42e
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - uses: github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e # v4.36.2
      - uses: ./action-build
      - uses: docker://alpine:3
`);
    expect(messages(checkPins(file))).toEqual([
      'actions/checkout@v4 is not pinned by a full commit SHA',
      'actions/checkout@3d3c42e is not pinned by a full commit SHA',
      'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 has no version comment (e.g. "# v4.2.1")',
      './action-build would resolve in the repository that runs this workflow; use dreamscape/actions/...@v1',
      'docker://alpine:3 is not pinned by digest',
      'the image postgres:16 is not pinned by digest',
      'the image registry:2 is not pinned by digest',
    ]);
  });
});

describe('checkPermissions', () => {
  it('wants permissions on every job of a product workflow', () => {
    const { file } = sample(`
on: push
permissions:
  contents: write
jobs:
  a:
    runs-on: ubuntu-latest
    steps: [{ run: 'true' }]
  b:
    runs-on: ubuntu-latest
    permissions: write-all
    steps: [{ run: 'true' }]
  c:
    runs-on: ubuntu-latest
    permissions: { contents: read }
    steps: [{ run: 'true' }]
`);
    expect(messages(checkPermissions(file))).toEqual([
      'the workflow grants write permissions to every job',
      "job 'a' does not state its permissions",
      'permissions: write-all is never least privilege',
    ]);
  });

  it('accepts permissions stated once at the top of another workflow, not their absence', () => {
    const top = sample(
      'on: push\npermissions: { contents: read }\njobs:\n  a: { runs-on: x, steps: [{ run: "true" }] }\n',
      '.github/workflows/other.yml',
    );
    expect(checkPermissions(top.file)).toEqual([]);
    const none = sample(
      'on: push\njobs:\n  a: { runs-on: x, steps: [{ run: "true" }] }\n',
      '.github/workflows/other.yml',
    );
    expect(messages(checkPermissions(none.file))).toEqual(["job 'a' does not state its permissions"]);
  });
});

describe('checkCallerPermissions', () => {
  it('wants a caller to grant exactly what the called workflow asks for, no less and no more', () => {
    const { file, files } = sample(`
on: push
permissions: {}
jobs:
  short:
    uses: dreamscape/actions/.github/workflows/deploy.yml@v1
    permissions: { contents: read, deployments: write }
    with: { environment: staging }
  wide:
    uses: dreamscape/actions/.github/workflows/deploy.yml@v1
    permissions: { contents: read, deployments: write, packages: write, issues: write }
    with: { environment: prod }
  exact:
    uses: dreamscape/actions/.github/workflows/deploy.yml@v1
    permissions: { contents: read, deployments: write, packages: read }
    with: { environment: prod }
`);
    expect(messages(checkCallerPermissions(file, { root, files }))).toEqual([
      "job 'short' grants packages: none, but a job of .github/workflows/deploy.yml asks for packages: read; GitHub refuses the run",
      "job 'wide' grants issues: write, but no job of .github/workflows/deploy.yml asks for more than issues: none",
      "job 'wide' grants packages: write, but no job of .github/workflows/deploy.yml asks for more than packages: read",
    ]);
  });
});

/**
 * What each job that runs steps may do with its token, and why. Jobs that call a reusable workflow
 * grant exactly what its jobs ask for (checkCallerPermissions, part of every file's contracts).
 */
const LEAST_PERMISSIONS: Readonly<
  Record<string, Readonly<Record<string, Readonly<Record<string, string>>>>>
> = {
  '.github/workflows/build-scan.yml': {
    changes: { contents: 'read' }, // checkout and compare commits
    // checkout; push the image and attach its scan verdict to it; the scan's pull-request comment
    build: { contents: 'read', packages: 'write', 'pull-requests': 'write' },
    records: {}, // artifacts of the same run need no permission
    sarif: { actions: 'read', contents: 'read', 'security-events': 'write' }, // upload to code scanning
  },
  '.github/workflows/deploy.yml': {
    check: { contents: 'read' }, // resolve and compare the commit
    // checkout; the GitHub deployment; read the images' scan verdicts from ghcr.io (require-scan)
    deploy: { contents: 'read', deployments: 'write', packages: 'read' },
  },
  '.github/workflows/pr-checks.yml': {
    plan: { contents: 'read', 'pull-requests': 'write' }, // checkout; the plan comment
  },
  '.github/workflows/rollback.yml': {
    parameters: {}, // checks the parameters only
    rollback: { deployments: 'write' }, // the GitHub deployment of the rollback
  },
  'workflows/dreamscape-pipeline.yml': {
    promotion: { actions: 'read', contents: 'read' }, // read the promoted run and its artifact
  },
};

describe('least permissions', () => {
  const product = workflows.filter(isProductWorkflow);

  it('every job that runs steps asks for exactly what it uses', () => {
    const stated = Object.fromEntries(
      product
        .map(
          (w) =>
            [
              w.path,
              Object.fromEntries(
                Object.entries(w.doc.jobs ?? {})
                  .filter(([, j]) => j.uses === undefined)
                  .map(([id, j]) => [id, j.permissions]),
              ),
            ] as const,
        )
        .filter(([, jobs]) => Object.keys(jobs).length > 0),
    );
    expect(stated).toEqual(LEAST_PERMISSIONS);
  });

  it('every job that calls a reusable workflow grants exactly what that workflow asks for', () => {
    const callers = product.flatMap((w) =>
      Object.entries(w.doc.jobs ?? {})
        .filter(([, j]) => j.uses !== undefined)
        .map(([id]) => `${w.path}: ${id}`),
    );
    expect(callers.length).toBeGreaterThanOrEqual(8);
    expect(product.flatMap((w) => messages(checkCallerPermissions(w, context)))).toEqual([]);
  });
});

describe('checkSecrets', () => {
  it('reports secrets a reusable workflow reads without declaring them', () => {
    const { file } = sample(`
on:
  workflow_call:
    secrets:
      KUBECONFIG: { required: false }
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    permissions: {}
    steps:
      - env:
          A: \${{ secrets.KUBECONFIG }}
          B: \${{ secrets.GITHUB_TOKEN }}
          C: \${{ secrets.NPM_TOKEN }}
        run: echo
`);
    expect(messages(checkSecrets(file))).toEqual([
      'secrets.NPM_TOKEN is not declared in on.workflow_call.secrets',
    ]);
  });
});
