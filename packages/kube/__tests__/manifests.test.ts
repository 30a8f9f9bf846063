import { describe, expect, it } from '@jest/globals';
import { ManifestError, formatJsonStream, formatManifests, objectKey, parseManifests } from '../src/index.js';

const text = `# leading comment
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: prod
spec:
  selector: {app: web}
---
---
# only a comment
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web@sha256:${'a'.repeat(64)}
          env:
            - {name: FLAG, value: "yes"}
`;

describe('parseManifests', () => {
  it('reads every non-empty document, in order', () => {
    const objects = parseManifests(text, 'overlay.yaml');
    expect(objects.map(objectKey)).toEqual(['Service/prod/web', 'Deployment//web']);
    expect(objects[1]?.['spec']).toMatchObject({ replicas: 2 });
  });

  it('names the source and the document of invalid YAML', () => {
    const bad =
      'apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B\nmetadata: {name: [b\n';
    expect(() => parseManifests(bad, 'k8s/prod.yaml')).toThrow(ManifestError);
    try {
      parseManifests(bad, 'k8s/prod.yaml');
    } catch (e) {
      const err = e as ManifestError;
      expect(err.message).toMatch(/^Invalid YAML in k8s\/prod\.yaml, document 2: /);
      expect(err.documentIndex).toBe(2);
      expect(err.source).toBe('k8s/prod.yaml');
    }
  });

  it('names the document that is not a Kubernetes object and what it lacks', () => {
    const doc =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\nkind: Service\nmetadata: {labels: {}}\n';
    expect(() => parseManifests(doc, 'rendered')).toThrow(
      'rendered, document 3 is not a Kubernetes object: missing apiVersion, metadata.name (kind Service).',
    );
    expect(() => parseManifests('- a\n- b\n', 'list.yaml')).toThrow(
      'list.yaml, document 1 is not a Kubernetes object: it is a list, not a mapping.',
    );
  });

  it('accepts JSON, which is YAML too', () => {
    expect(parseManifests('{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}', 'x')).toHaveLength(
      1,
    );
  });

  it('an empty text has no objects', () => {
    expect(parseManifests('', 'x')).toEqual([]);
    expect(parseManifests('---\n# nothing\n---\n', 'x')).toEqual([]);
  });
});

describe('formatManifests', () => {
  it('round-trips, quoting strings another YAML reader would take for booleans or numbers', () => {
    const objects = parseManifests(text, 'x');
    const out = formatManifests(objects);
    expect(out.startsWith('---\napiVersion: v1\n')).toBe(true);
    expect(out).toContain("value: 'yes'");
    expect(parseManifests(out, 'again')).toEqual(objects);
  });

  it('a JSON stream has one object per line', () => {
    const objects = parseManifests(text, 'x');
    const lines = formatJsonStream(objects).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(objects);
    expect(formatJsonStream([])).toBe('');
  });
});

describe('parseManifests refuses aliases', () => {
  const bomb = `apiVersion: v1
kind: ConfigMap
metadata: {name: bomb}
data:
  a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
`;

  it('by default (kustomize output and recorded manifests never have one), with the source and document', () => {
    expect(() => parseManifests(`---\n${bomb}`, 'revision 3')).toThrow(
      /^revision 3, document 1 uses a YAML alias \(\*name\) \(line 7, column \d+\): refused, since kustomize output never has one/,
    );
  });

  it('allows as many as the limits given', () => {
    expect(parseManifests(bomb, 'x', { maxAliases: 30 })).toHaveLength(1);
  });
});
