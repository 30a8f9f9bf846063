import { describe, expect, it } from '@jest/globals';
import {
  packManifest,
  renderReleaseSummary,
  shortImage,
  type GateResult,
  type ReleaseOutcome,
  type ReleaseRecord,
} from '../src/index.js';

const D1 = `sha256:${'0123456789ab'.repeat(5)}cdef`;
const D2 = `sha256:${'fedcba987654'.repeat(5)}3210`;

function record(overrides: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    schema: 1,
    app: 'shop',
    environment: 'prod',
    namespace: 'shop',
    revision: 7,
    kind: 'deploy',
    strategy: 'blue-green',
    result: 'promoted',
    color: 'green',
    previousColor: 'blue',
    previousRevision: 6,
    manifestHash: 'sha256:x',
    manifest: packManifest(''),
    images: {},
    services: [],
    replicas: {},
    checks: '',
    commit: '0123456789abcdef0123456789abcdef01234567',
    runId: '42',
    runUrl: 'https://github.com/o/r/actions/runs/42',
    actor: 'me',
    reason: '',
    rollbackTo: undefined,
    rolloutRevisions: {},
    startedAt: '',
    finishedAt: '',
    message: '',
    journal: [],
    gates: [],
    ...overrides,
  };
}

function gate(overrides: Partial<GateResult>): GateResult {
  return {
    check: 'web',
    phase: 'pre-switch',
    target: 'service web-preview:http/health',
    passed: true,
    stopped: false,
    attempts: 3,
    successes: 3,
    failures: 0,
    durationMs: 4200,
    lastDetail: 'HTTP 200 in 3ms',
    ...overrides,
  };
}

function outcome(overrides: Partial<ReleaseOutcome> = {}): ReleaseOutcome {
  return {
    result: 'promoted',
    message: 'Release 7 of shop is live in prod (green).',
    app: 'shop',
    environment: 'prod',
    namespace: 'shop',
    revision: 7,
    activeColor: 'green',
    previousColor: 'blue',
    services: [],
    gates: [],
    timings: { total: 83_000 },
    record: record(),
    path: 'fast',
    ...overrides,
  };
}

describe('shortImage', () => {
  it('keeps the last two path parts and 12 hex digits of the digest', () => {
    expect(shortImage(`ghcr.io/acme/shop/web@${D1}`)).toBe('shop/web@sha256:0123456789ab');
    expect(shortImage(`registry.local:5000/web:1.2@${D2}`)).toBe(
      'registry.local:5000/web:1.2@sha256:fedcba987654',
    );
    expect(shortImage(`web@${D1}`)).toBe('web@sha256:0123456789ab');
  });

  it('leaves an image without a digest as it is', () => {
    expect(shortImage('ghcr.io/acme/shop/web:1.2')).toBe('ghcr.io/acme/shop/web:1.2');
  });
});

describe('renderReleaseSummary', () => {
  it('renders a promoted blue-green deploy: facts, a row per Service, gates and timings', () => {
    const text = renderReleaseSummary(
      outcome({
        services: [
          {
            service: 'web',
            deployment: 'web',
            before: { color: 'blue', images: [`ghcr.io/acme/shop/web@${D1}`] },
            after: {
              color: 'green',
              images: [`ghcr.io/acme/shop/web@${D2}`, `ghcr.io/acme/shop/proxy@${D1}`],
            },
          },
          {
            service: 'api',
            deployment: 'api',
            before: { color: 'missing', images: [] },
            after: { color: 'green', images: [] },
          },
          {
            service: 'admin',
            deployment: 'admin',
            before: { color: 'legacy', images: [`ghcr.io/acme/shop/admin@${D1}`] },
            after: { color: 'green', images: [`ghcr.io/acme/shop/admin@${D1}`] },
          },
        ],
        gates: [
          gate({}),
          gate({
            check: 'api',
            phase: 'post-switch',
            passed: false,
            successes: 1,
            failures: 2,
            durationMs: 61_000,
            lastDetail: 'HTTP 500, expected 2xx: a|b\nc',
          }),
          gate({
            check: 'errors',
            phase: 'post-switch',
            passed: false,
            stopped: true,
            successes: 4,
            failures: 0,
            durationMs: 800,
            lastDetail: "stopped: check 'api' failed",
          }),
        ],
        timings: { lock: 120, apply: 2500, wait: 30_000, total: 83_000 },
      }),
      'Deploy',
    );
    expect(text).toBe(
      [
        '### ✅ Deploy: shop → prod — promoted',
        '',
        'Release 7 of shop is live in prod (green).',
        '',
        '| | |',
        '|---|---|',
        '| Revision | 7 (previous 6) |',
        '| Namespace | `shop` |',
        '| Strategy | blue-green |',
        '| Live color | green (was blue) |',
        '| Commit | `0123456789ab` |',
        '| Time | 1m23s |',
        '',
        '| Service | Before | After |',
        '|---|---|---|',
        '| web | **blue** `shop/web@sha256:0123456789ab` | **green** `shop/web@sha256:fedcba987654`<br>`shop/proxy@sha256:0123456789ab` |',
        '| api | — | **green** (no pods) |',
        '| admin | `shop/admin@sha256:0123456789ab` | **green** `shop/admin@sha256:0123456789ab` |',
        '',
        '| Health check | Phase | Result | Probes | Time | Last answer |',
        '|---|---|---|---|---|---|',
        '| web | pre-switch | ✅ passed | 3✓ 0✗ | 4.2s | HTTP 200 in 3ms |',
        '| api | post-switch | ❌ failed | 1✓ 2✗ | 1m01s | HTTP 500, expected 2xx: a\\|b c |',
        "| errors | post-switch | ⏹ stopped | 4✓ 0✗ | 800ms | stopped: check 'api' failed |",
        '',
        '<details><summary>Timings</summary>',
        '',
        '| Phase | Time |',
        '|---|---|',
        '| lock | 120ms |',
        '| apply | 2.5s |',
        '| wait | 30.0s |',
        '',
        '</details>',
        '',
        '[Workflow run](https://github.com/o/r/actions/runs/42)',
        '',
      ].join('\n'),
    );
  });

  it('renders a rollback with its reason, and leaves out what does not apply', () => {
    const text = renderReleaseSummary(
      outcome({
        result: 'rolled-back',
        message: 'Rolled back.',
        activeColor: undefined,
        previousColor: undefined,
        timings: {},
        record: record({
          previousRevision: 0,
          commit: '',
          runUrl: '',
          strategy: 'rolling',
          reason: 'error rate',
        }),
      }),
      'Rollback',
    );
    expect(text).toBe(
      [
        '### ↩️ Rollback: shop → prod — rolled-back',
        '',
        'Rolled back.',
        '',
        '| | |',
        '|---|---|',
        '| Revision | 7 |',
        '| Namespace | `shop` |',
        '| Strategy | rolling |',
        '| Reason | error rate |',
        '| Time | 0ms |',
        '',
      ].join('\n'),
    );
  });

  it('keeps a reason with a pipe or a line break inside its table row', () => {
    const text = renderReleaseSummary(
      outcome({ record: record({ reason: 'alert: 5xx > 1% | checkout\nsee runbook' }) }),
      'Rollback',
    );
    expect(text).toContain('| Reason | alert: 5xx > 1% \\| checkout see runbook |');
  });

  it('marks a failed and a planned release', () => {
    expect(renderReleaseSummary(outcome({ result: 'failed' }), 'Deploy')).toMatch(
      /^### ❌ Deploy: shop → prod — failed\n/,
    );
    expect(renderReleaseSummary(outcome({ result: 'planned' }), 'Deploy')).toMatch(
      /^### 📝 Deploy: shop → prod — planned\n/,
    );
  });
});

describe('a canary in the job summary', () => {
  const T0 = Date.parse('2026-12-07T10:00:00Z');
  const errors = (value: number, passed = true): GateResult =>
    gate({
      check: 'errors',
      target: 'prometheus http://prom:9090: …',
      passed,
      successes: passed ? 3 : 0,
      failures: passed ? 0 : 1,
      lastDetail: passed ? `value ${value} within bounds` : `value ${value} is above max 0.02`,
    });

  it('has a row per step with its analysis and decision, and charts of the weight and each side', () => {
    const text = renderReleaseSummary(
      outcome({
        result: 'rolled-back',
        record: record({ strategy: 'canary' }),
        canary: [
          {
            weight: 10,
            at: T0,
            durationMs: 30_000,
            analysis: [errors(0.001)],
            decision: 'next step',
            readings: [{ check: 'errors', canary: 0.001, stable: 0.0012 }],
          },
          {
            weight: 50,
            at: T0 + 31_000,
            durationMs: 12_000,
            analysis: [errors(0.081, false)],
            decision: 'abort',
            readings: [{ check: 'errors', canary: 0.08123456, stable: 0.001 }],
          },
        ],
      }),
      'Deploy',
    );
    expect(text).toContain('| Canary weight | At | Analysed for | Analysis | Decision |');
    expect(text).toContain(
      '| 10 % | 10:00:00 UTC | 30.0s | ✅ errors: 3✓ 0✗, value 0.001 within bounds | ➡️ next step |',
    );
    expect(text).toContain(
      '| 50 % | 10:00:31 UTC | 12.0s | ❌ errors: 0✓ 1✗, value 0.081 is above max 0.02 | ↩️ abort |',
    );
    // The weight over time ends at 0 once aborted.
    expect(text).toContain(
      [
        '```mermaid',
        'xychart-beta',
        '  title "Canary weight (%) over time"',
        '  x-axis ["+0s", "+31s", "+43s"]',
        '  y-axis "weight %" 0 --> 100',
        '  line [10, 50, 0]',
        '```',
      ].join('\n'),
    );
    // Each side's value of the query at the end of each step.
    expect(text).toContain('  x-axis ["+30s", "+43s"]');
    expect(text).toContain('  line [0.001, 0.08123]\n  line [0.0012, 0.001]');
  });

  it('draws only the weight when a side could not be read, and a paused step waits for approval', () => {
    const text = renderReleaseSummary(
      outcome({
        result: 'paused',
        record: record({ strategy: 'canary' }),
        canary: [
          {
            weight: 25,
            at: T0,
            durationMs: 2_000,
            analysis: [],
            decision: 'pause',
            readings: [{ check: 'errors', canary: 0.001, stable: undefined }],
          },
        ],
      }),
      'Deploy',
    );
    expect(text).toMatch(/^### ⏸️ Deploy: shop → prod — paused/);
    expect(text).toContain('| 25 % | 10:00:00 UTC | 2.0s | none (waited) | ⏸️ wait for approval |');
    expect(text).toContain('  line [25]');
    expect(text.match(/```mermaid/g)).toHaveLength(1);
  });
});
