import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '@dreamscape/kube';
import {
  provenanceAnnotations,
  ProvenanceClusterApi,
  withoutProvenance,
  type ProvenanceSource,
} from '../src/index.js';
import { FakeClusterApi } from './support/fake-api.js';

const RECORD: ProvenanceSource = {
  revision: 7,
  commit: 'c0ffee0000000000000000000000000000000000',
  runUrl: 'https://github.com/dreamscape/platform/actions/runs/100',
  repository: 'dreamscape/platform',
  workflow: '.github/workflows/deploy.yml',
};

function configMap(annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'shop', ...(annotations === undefined ? {} : { annotations }) },
  };
}

describe('provenanceAnnotations', () => {
  it('names the repository, workflow, run, commit and revision of the release record', () => {
    expect(provenanceAnnotations(RECORD)).toEqual({
      'dreamscape.io/repository': 'dreamscape/platform',
      'dreamscape.io/workflow': '.github/workflows/deploy.yml',
      'dreamscape.io/run-url': 'https://github.com/dreamscape/platform/actions/runs/100',
      'dreamscape.io/commit': 'c0ffee0000000000000000000000000000000000',
      'dreamscape.io/revision': '7',
    });
  });

  it('outside a workflow writes the revision alone, never empty values', () => {
    expect(provenanceAnnotations({ revision: 2, commit: '', runUrl: '' })).toEqual({
      'dreamscape.io/revision': '2',
    });
  });
});

describe('withoutProvenance', () => {
  it("leaves a manifest's own look-alikes out of what the release applies, keeping its other annotations", () => {
    const [o] = withoutProvenance([configMap({ team: 'shop', 'dreamscape.io/revision': '99' })]);
    expect(o?.metadata.annotations).toEqual({ team: 'shop' });
  });
});

describe('ProvenanceClusterApi', () => {
  function setup() {
    const fake = new FakeClusterApi();
    const applies: {
      objects: KubeObject[];
      fieldManager: string | undefined;
      dryRun: boolean;
      force: boolean;
    }[] = [];
    const apply = fake.applyServerSide.bind(fake);
    fake.applyServerSide = (objects, options) => {
      applies.push({
        objects: structuredClone([...objects]),
        fieldManager: options?.fieldManager,
        dryRun: options?.dryRun === true,
        force: options?.forceConflicts === true,
      });
      return apply(objects, options);
    };
    let current: ProvenanceSource | undefined = undefined;
    const api = new ProvenanceClusterApi(fake, () => current);
    return {
      fake,
      applies,
      api,
      open: (record: ProvenanceSource) => {
        current = record;
      },
    };
  }

  it('writes the annotations as a manager of their own, in a second apply of metadata alone', async () => {
    const { fake, applies, api, open } = setup();
    open(RECORD);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop', annotations: { 'dreamscape.io/commit': 'forged' } },
      spec: { replicas: 2, template: { metadata: { annotations: { a: 'b' } } } },
    } as KubeObject;
    const [result] = await api.applyServerSide([deployment]);
    // The release's own apply holds none of them (a plan's diff, as that manager, never sees them).
    expect(applies[0]?.fieldManager).toBeUndefined();
    expect(applies[0]?.objects[0]?.metadata.annotations).toEqual({});
    expect(applies[1]).toEqual({
      fieldManager: 'dreamscape-provenance',
      dryRun: false,
      force: true,
      objects: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: 'shop', annotations: provenanceAnnotations(RECORD) },
        },
      ],
    });
    expect(result?.metadata.annotations).toEqual(provenanceAnnotations(RECORD));
    // Never a pod template: a new run alone must not replace pods.
    expect(fake.peek('Deployment', 'shop', 'web')).toMatchObject({
      spec: { replicas: 2, template: { metadata: { annotations: { a: 'b' } } } },
    });
  });

  it('costs nothing more when the object already names the release; a dry run, or no record yet, names nothing', async () => {
    const { applies, api, open } = setup();
    await api.applyServerSide([configMap()]);
    open(RECORD);
    await api.applyServerSide([configMap()], { dryRun: true });
    await api.applyServerSide([configMap()]);
    await api.applyServerSide([configMap()]);
    expect(applies.map((a) => `${a.fieldManager ?? 'dreamscape'}${a.dryRun ? ' (dry run)' : ''}`)).toEqual([
      'dreamscape',
      'dreamscape (dry run)',
      'dreamscape',
      'dreamscape-provenance',
      'dreamscape',
    ]);
  });

  it('names the release a revert applies again, not the one running', async () => {
    const { applies, api, open } = setup();
    open(RECORD);
    await api.applyServerSide([configMap()], {
      release: { ...RECORD, revision: 6, runUrl: 'https://x/runs/99' },
    });
    expect(applies[1]?.objects[0]?.metadata.annotations).toMatchObject({
      'dreamscape.io/revision': '6',
      'dreamscape.io/run-url': 'https://x/runs/99',
    });
  });
});
