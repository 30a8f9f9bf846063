import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '@dreamscape/kube';
import {
  provenanceAnnotations,
  ProvenanceClusterApi,
  withProvenance,
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

describe('withProvenance', () => {
  it("adds them to the object's metadata, keeping its own annotations and replacing look-alikes", () => {
    const [o] = withProvenance([configMap({ team: 'shop', 'dreamscape.io/revision': '99' })], RECORD);
    expect(o?.metadata.annotations).toMatchObject({ team: 'shop', 'dreamscape.io/revision': '7' });
  });

  it('never touches a pod template: a new run must not replace pods', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { template: { metadata: { annotations: { a: 'b' } } } },
    } as KubeObject;
    const [o] = withProvenance([deployment], RECORD);
    expect((o as typeof deployment & { spec: unknown }).spec).toEqual({
      template: { metadata: { annotations: { a: 'b' } } },
    });
  });
});

describe('ProvenanceClusterApi', () => {
  it("stamps every apply with the running release's provenance, or the one named; dry runs as they are", async () => {
    const fake = new FakeClusterApi();
    const applied: KubeObject[][] = [];
    const spy = fake.applyServerSide.bind(fake);
    fake.applyServerSide = (objects, options) => {
      applied.push([...objects]);
      return spy(objects, options);
    };
    let current: ProvenanceSource | undefined = undefined;
    const api = new ProvenanceClusterApi(fake, () => current);
    // Before the record is open: nothing to name.
    await api.applyServerSide([configMap()]);
    current = RECORD;
    await api.applyServerSide([configMap()]);
    await api.applyServerSide([configMap()], { dryRun: true });
    await api.applyServerSide([configMap()], {
      release: { ...RECORD, revision: 6, runUrl: 'https://x/runs/99' },
    });
    expect(applied.map(([o]) => o?.metadata.annotations?.['dreamscape.io/revision'])).toEqual([
      undefined,
      '7',
      undefined,
      '6',
    ]);
    expect(applied[3]?.[0]?.metadata.annotations?.['dreamscape.io/run-url']).toBe('https://x/runs/99');
  });
});
