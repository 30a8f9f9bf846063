import { describe, expect, it } from '@jest/globals';
import { scannerFixture as fixture } from '@dreamscape/testkit';
import {
  buildSarif,
  buildVerdict,
  compareWithBaseline,
  evaluatePolicy,
  parseScanReport,
  parseVerdict,
  readBaseline,
  renderScanSummary,
  serializeVerdict,
  type Baseline,
  type Finding,
  type ReferrerStore,
  type ScanReport,
  type Threshold,
} from '../src/index.js';

// The recorded reports: Debian buster has one critical (CVE-2019-18224 in libidn2-0) and one low;
// Alpine 3.10 has two mediums, each in libcrypto1.1 and libssl1.1; the Grype Java image has one
// medium in httpclient (a GHSA with its CVE as an alias); the RHEL image one low in six packages.
const report = (scanner: 'trivy' | 'grype', file: string): ScanReport =>
  parseScanReport(scanner, fixture(file), file);
const debian = report('trivy', 'trivy-image-debian-buster.json');
const alpine = report('trivy', 'trivy-image-alpine-310.json');
const java = report('grype', 'grype-image-alpine-java.json');
const rhel = report('grype', 'grype-image-rhel-wontfix.json');
const NOW = Date.parse('2026-12-07T12:00:00Z');
const clock = { now: () => NOW, sleep: () => Promise.resolve() };
const RUNNING = `registry.local/shop/api@sha256:${'a'.repeat(64)}`;
const CANDIDATE = `registry.local/shop/api@sha256:${'b'.repeat(64)}`;

/** The baseline a verdict of `running` gives, as action-scan reads it from the registry. */
function baselineOf(running: ScanReport, threshold: Threshold = 'critical'): Baseline {
  const policy = evaluatePolicy(running.findings, { threshold, ignoreUnfixed: false, waivers: [], now: NOW });
  const verdict = buildVerdict({ image: RUNNING, report: running, policy, failOn: 'fail-build', clock });
  return {
    status: 'found',
    image: RUNNING,
    source: 'the image running in production (revision 7)',
    verdictCreatedAt: verdict.createdAt,
    findings: verdict.findings.map((f) => ({
      id: f.id,
      package: f.package,
      installedVersion: f.installedVersion,
      severity: f.severity,
    })),
  };
}

function judge(
  findings: readonly Finding[],
  baseline: Baseline | undefined,
  threshold: Threshold = 'critical',
) {
  return evaluatePolicy(findings, {
    threshold,
    ignoreUnfixed: false,
    waivers: [],
    now: NOW,
    failOn: 'new',
    ...(baseline === undefined ? {} : { baseline }),
  });
}

/** The Debian report without its critical: a release that upgraded libidn2-0. */
function withoutCritical(r: ScanReport): ScanReport {
  return { ...r, findings: r.findings.filter((f) => f.id !== 'CVE-2019-18224') };
}

describe('fail-on new, with the recorded reports', () => {
  it('a release that only keeps the old critical passes; the same judged on every finding fails', () => {
    const r = judge(debian.findings, baselineOf(debian));
    expect(r.verdict).toBe('pass');
    expect(r.blocking).toBe(0);
    expect(r.evaluated.map((e) => [e.finding.id, e.status, e.baseline])).toEqual([
      ['CVE-2019-18224', 'known', 'known'],
      ['CVE-2019-18276', 'allowed', 'known'],
    ]);
    expect(r.baseline).toMatchObject({ status: 'found', new: 0, known: 2, fixed: [] });
    expect(r.reasons).toEqual([
      "No new finding at or above 'critical' after waivers against the image running in production (revision 7).",
      "1 finding at or above 'critical' already in the image running in production (revision 7) (known): reported, not failing.",
    ]);
    // fail-on threshold, same baseline: the known critical fails as it always did.
    const all = evaluatePolicy(debian.findings, {
      threshold: 'critical',
      ignoreUnfixed: false,
      waivers: [],
      now: NOW,
      baseline: baselineOf(debian),
    });
    expect(all.verdict).toBe('fail');
    expect(all.evaluated[0]).toMatchObject({ status: 'blocking', baseline: 'known' });
  });

  it('a release that adds a critical fails, naming it as new', () => {
    const r = judge(debian.findings, baselineOf(alpine));
    expect(r.verdict).toBe('fail');
    expect(r.evaluated.map((e) => [e.finding.id, e.status, e.baseline])).toEqual([
      ['CVE-2019-18224', 'blocking', 'new'],
      ['CVE-2019-18276', 'allowed', 'new'],
    ]);
    expect(r.reasons[0]).toBe(
      "1 new finding at or above 'critical' after waivers that the image running in production (revision 7) does not have: CVE-2019-18224 (critical, libidn2-0).",
    );
    // Alpine's four package findings are gone: two vulnerabilities fixed.
    expect(r.baseline).toMatchObject({ status: 'found', new: 2, known: 0 });
    expect(r.reasons).toContain(
      '2 vulnerabilities of the image running in production (revision 7) fixed: CVE-2019-1549, CVE-2019-1551.',
    );
  });

  it('a release that fixes the critical passes and says so', () => {
    const r = judge(withoutCritical(debian).findings, baselineOf(debian));
    expect(r.verdict).toBe('pass');
    expect(r.baseline).toMatchObject({
      status: 'found',
      new: 0,
      known: 1,
      fixed: [
        { id: 'CVE-2019-18224', package: 'libidn2-0', installedVersion: '2.0.5-1', severity: 'critical' },
      ],
    });
    expect(r.reasons).toContain(
      '1 vulnerability of the image running in production (revision 7) fixed: CVE-2019-18224.',
    );
  });

  it('Grype: an identifier or its alias is the same vulnerability; a package it newly affects is new', () => {
    expect(java.findings).toHaveLength(1);
    const kept = judge(java.findings, baselineOf(java, 'medium'), 'medium');
    expect(kept.verdict).toBe('pass');
    expect(kept.evaluated.map((e) => e.status)).toEqual(['known']);
    // The running image's verdict names the vulnerability by its alias only (the GHSA, where this
    // scan prefers the CVE): still known.
    expect(java.findings[0]?.id).toBe('CVE-2014-3577');
    expect(java.findings[0]?.aliases).toContain('GHSA-cfh5-3ghh-wfjx');
    const byAlias: Baseline = {
      ...(baselineOf(java, 'medium') as Extract<Baseline, { status: 'found' }>),
      findings: [
        { id: 'GHSA-cfh5-3ghh-wfjx', package: 'httpclient', installedVersion: '4.1.1', severity: 'medium' },
      ],
    };
    expect(judge(java.findings, byAlias, 'medium').evaluated[0]?.baseline).toBe('known');
    // The same vulnerability in another package is new there.
    const elsewhere: Baseline = {
      ...byAlias,
      findings: [{ id: 'CVE-2014-3577', package: 'httpcore', installedVersion: '4.1', severity: 'medium' }],
    };
    const moved = judge(java.findings, elsewhere, 'medium');
    expect(moved.verdict).toBe('fail');
    expect(moved.baseline).toMatchObject({ new: 1, fixed: [{ package: 'httpcore' }] });
    // From RHEL (one low in six packages) to the Java image: the medium is new, the low fixed once.
    const switched = judge(java.findings, baselineOf(rhel, 'medium'), 'medium');
    expect(switched.verdict).toBe('fail');
    expect(switched.reasons).toContain(
      '1 vulnerability of the image running in production (revision 7) fixed: CVE-2020-12413.',
    );
  });

  it('with no baseline it says why and judges every finding', () => {
    const r = judge(debian.findings, {
      status: 'none',
      reason: 'nothing of shop in production has been promoted yet',
    });
    expect(r.verdict).toBe('fail');
    expect(r.evaluated.every((e) => e.baseline === undefined)).toBe(true);
    expect(r.reasons[0]).toBe(
      'No baseline to compare with (nothing of shop in production has been promoted yet): every finding is judged.',
    );
    expect(r.baseline).toEqual({
      status: 'none',
      reason: 'nothing of shop in production has been promoted yet',
    });
  });

  it('compareWithBaseline: every package must be known for the finding to be known', () => {
    const finding = alpine.findings[0] as Finding;
    expect(finding.packages.map((p) => p.name)).toEqual(['libcrypto1.1', 'libssl1.1']);
    const half = [
      { id: finding.id, package: 'libssl1.1', installedVersion: '1.1.1c-r0', severity: finding.severity },
    ];
    expect(compareWithBaseline([finding], half).states).toEqual(['new']);
    expect(
      compareWithBaseline([finding], [...half, { ...half[0]!, package: 'libcrypto1.1' }]).states,
    ).toEqual(['known']);
  });
});

describe('the baseline in the verdict, SARIF and the summary', () => {
  it('the verdict records the gate, the baseline and each finding against it, and reads back', () => {
    const policy = judge(debian.findings, baselineOf(alpine));
    const verdict = buildVerdict({ image: CANDIDATE, report: debian, policy, failOn: 'fail-build', clock });
    expect(verdict.policy).toEqual({
      threshold: 'critical',
      ignoreUnfixed: false,
      failOn: 'fail-build',
      gate: 'new',
    });
    expect(verdict.findings.map((f) => [f.id, f.baseline])).toEqual([
      ['CVE-2019-18224', 'new'],
      ['CVE-2019-18276', 'new'],
    ]);
    const back = parseVerdict(serializeVerdict(verdict), 'test');
    expect(back).toEqual(verdict);
    expect(back.baseline).toMatchObject({ status: 'found', image: RUNNING, new: 2, known: 0 });
    expect(back.baseline?.status === 'found' ? back.baseline.fixed.map((f) => f.id) : []).toEqual([
      'CVE-2019-1549',
      'CVE-2019-1549',
      'CVE-2019-1551',
      'CVE-2019-1551',
    ]);
    // A threshold verdict has neither field, as before.
    const plain = buildVerdict({
      image: CANDIDATE,
      report: debian,
      policy: evaluatePolicy(debian.findings, {
        threshold: 'critical',
        ignoreUnfixed: false,
        waivers: [],
        now: NOW,
      }),
      failOn: 'fail-build',
      clock,
    });
    expect(plain.policy).not.toHaveProperty('gate');
    expect(plain).not.toHaveProperty('baseline');
    // Strict: a baseline state it does not know is refused.
    const tampered = JSON.parse(JSON.stringify(verdict)) as { findings: { baseline: string }[] };
    tampered.findings[0]!.baseline = 'old';
    expect(() => parseVerdict(JSON.stringify(tampered), 'test')).toThrow(
      '\'baseline\' is "old", not one of new, known',
    );
  });

  it('SARIF marks known results unchanged and new ones new', () => {
    const policy = judge(debian.findings, baselineOf(debian));
    const sarif = JSON.parse(
      buildSarif({
        scanner: 'trivy',
        scannerVersion: '0.74.0',
        policy,
        category: 'image/shop/api',
        image: CANDIDATE,
        imageName: 'registry.local/shop/api',
        dockerfile: undefined,
      }).json,
    ) as {
      runs: { results: { ruleId: string; baselineState?: string; properties: { policyStatus: string } }[] }[];
    };
    expect(sarif.runs[0]?.results.map((r) => [r.ruleId, r.baselineState, r.properties.policyStatus])).toEqual(
      [
        ['CVE-2019-18224', 'unchanged', 'known'],
        ['CVE-2019-18276', 'unchanged', 'allowed'],
      ],
    );
    const added = judge(debian.findings, baselineOf(alpine));
    const json = buildSarif({
      scanner: 'trivy',
      scannerVersion: '0.74.0',
      policy: added,
      category: 'c',
      image: CANDIDATE,
      imageName: 'registry.local/shop/api',
      dockerfile: undefined,
    }).json;
    expect(json).toContain('"baselineState":"new"');
    expect(json).not.toContain('"baselineState":"unchanged"');
  });

  it('the summary shows new, fixed and known against what runs now, or why there is no baseline', () => {
    const md = renderScanSummary({
      image: CANDIDATE,
      scanner: 'trivy',
      scannerVersion: '0.74.0',
      category: 'c',
      policy: judge(withoutCritical(debian).findings, baselineOf(debian)),
    });
    expect(md).toContain('#### Against what runs now: the image running in production (revision 7)');
    expect(md).toContain('| New | Fixed | Known |\n| ---: | ---: | ---: |\n| 0 | 1 | 1 |');
    expect(md).toContain('| CVE-2019-18224 | Critical | libidn2-0 | 2.0.5-1 |');
    expect(md).toContain('Only new findings can fail this scan (`fail-on: new`).');
    expect(md).toMatch(/\| \[CVE-2019-18276\]\(\S+\) \| Low \| bash \| .* \| yes \(known\) \|/);
    const none = renderScanSummary({
      image: CANDIDATE,
      scanner: 'trivy',
      scannerVersion: '0.74.0',
      category: 'c',
      policy: judge(debian.findings, { status: 'none', reason: 'no scan verdict is attached to x' }),
    });
    expect(none).toContain(
      '> No baseline to compare with: no scan verdict is attached to x. Every finding was judged.',
    );
    expect(none).not.toContain('Runs now');
  });
});

describe('readBaseline', () => {
  const store = (verdicts: Record<string, Uint8Array | Error>): ReferrerStore => ({
    attach: () => Promise.reject(new Error('not here')),
    readNewest: (image) => {
      const v = verdicts[image];
      if (v instanceof Error) return Promise.reject(v);
      return Promise.resolve(
        v === undefined ? undefined : { digest: `sha256:${'c'.repeat(64)}`, payload: v },
      );
    },
  });
  const running = (r: ScanReport): Uint8Array =>
    serializeVerdict(
      buildVerdict({
        image: RUNNING,
        report: r,
        policy: evaluatePolicy(r.findings, {
          threshold: 'critical',
          ignoreUnfixed: false,
          waivers: [],
          now: NOW,
        }),
        failOn: 'fail-build',
        clock,
      }),
    );

  it('reads the running image`s newest verdict; none, or an unreadable one, is no baseline with the reason', async () => {
    const found = await readBaseline(store({ [RUNNING]: running(debian) }), [RUNNING], 'the baseline image');
    expect(found).toMatchObject({ status: 'found', image: RUNNING, source: 'the baseline image' });
    expect(found.status === 'found' ? found.findings.map((f) => f.id) : []).toEqual([
      'CVE-2019-18224',
      'CVE-2019-18276',
    ]);
    expect(await readBaseline(store({}), [RUNNING], 'the baseline image')).toEqual({
      status: 'none',
      reason: `no scan verdict is attached to ${RUNNING}, which is the baseline image`,
    });
    const refused = await readBaseline(store({ [RUNNING]: new Error('401 Unauthorized') }), [RUNNING], 'x');
    expect(refused).toEqual({
      status: 'none',
      reason: `the verdict of ${RUNNING} could not be read: 401 Unauthorized`,
    });
    expect(await readBaseline(store({}), [], 'x')).toEqual({
      status: 'none',
      reason: 'no image to compare with (x)',
    });
  });
});
