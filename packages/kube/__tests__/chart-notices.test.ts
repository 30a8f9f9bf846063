import { describe, expect, it } from '@jest/globals';
import { callsLookup, chartNotices, NO_RELEASE_SECRET_NOTICE } from '../src/chart-notices.js';

const file = (path: string, text: string): { path: string; read: () => Buffer } => ({
  path,
  read: () => Buffer.from(text),
});

describe('callsLookup', () => {
  it.each([
    ['{{ lookup "v1" "Secret" "ns" "name" }}', true],
    ['{{- $s := lookup "v1" "Secret" .Release.Namespace "x" -}}', true],
    ['{{ if (lookup "v1" "Namespace" "" "x") }}y{{ end }}', true],
    ['{{ "v1" | lookup }}', true],
    ['{{\n  lookup\n  "v1" "Secret" "" ""\n}}', true],
    ['{{/* lookup "v1" "Secret" */}}', false],
    ['{{ .Values.lookup }}', false],
    ['{{ $lookup := 1 }}', false],
    ['lookup "v1" "Secret" outside an action', false],
    ['{{ include "lookupHelper" . }}', false],
  ])('%j: %s', (template, expected) => {
    expect(callsLookup(template)).toBe(expected);
  });
});

describe('chartNotices', () => {
  it('names the templates that call lookup (subcharts too) and the CRD files, and always the release Secret', () => {
    const notices = chartNotices([
      file('templates/secret.yaml', '{{ lookup "v1" "Secret" "" "" }}'),
      file('templates/service.yaml', 'kind: Service'),
      file('charts/redis/templates/pw.yaml', '{{ (lookup "v1" "Secret" "" "").data }}'),
      file('values.yaml', '{{ lookup "v1" "Secret" "" "" }}'),
      file('crds/widget.yaml', 'kind: CustomResourceDefinition'),
      file('charts/redis/crds/cache.yaml', 'kind: CustomResourceDefinition'),
    ]);
    expect(notices).toHaveLength(3);
    expect(notices[0]).toMatch(
      /^lookup returns nothing when rendered with helm template: templates\/secret\.yaml, charts\/redis\/templates\/pw\.yaml call lookup/,
    );
    expect(notices[1]).toMatch(/: crds\/widget\.yaml, charts\/redis\/crds\/cache\.yaml\./);
    expect(notices[2]).toBe(NO_RELEASE_SECRET_NOTICE);
  });

  it('says only that no release Secret is written for a plain chart (crds/ files helm does not read count for nothing)', () => {
    expect(chartNotices([file('templates/a.yaml', 'kind: ConfigMap'), file('crds/README.md', 'x')])).toEqual([
      NO_RELEASE_SECRET_NOTICE,
    ]);
  });
});
