import { describe, expect, it } from '@jest/globals';
import { ActionError, MemoryLogger } from '@dreamscape/core';
import {
  attachScanVerdict,
  describeVerdictAttachment,
  parseVerdict,
  type ReferrerStore,
} from '../src/index.js';

const IMAGE = `127.0.0.1:5000/dreamscape/auth@sha256:${'a'.repeat(64)}`;
const ARTIFACT = `sha256:${'b'.repeat(64)}`;
const none = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
const verdict = parseVerdict(
  JSON.stringify({
    schema: 1,
    image: IMAGE,
    result: 'fail',
    policy: { threshold: 'high', ignoreUnfixed: false, failOn: 'fail-build' },
    counts: { before: none, after: none },
    findings: [],
    waivers: [],
    scanner: { name: 'trivy', version: '0.74.0' },
    createdAt: '2026-12-07T10:00:00.000Z',
  }),
  'test',
);

class StatusError extends ActionError {
  constructor(readonly status: number) {
    super(`127.0.0.1:5000 answered ${status}`);
  }
}

function store(attach: ReferrerStore['attach']): { open: () => ReferrerStore; opened: () => number } {
  let opened = 0;
  return {
    open: () => {
      opened++;
      return { attach, readNewest: () => Promise.resolve(undefined) };
    },
    opened: () => opened,
  };
}

const refused = store(() => Promise.reject(new StatusError(403)));
const down = store(() => Promise.reject(new StatusError(503)));

describe('attachScanVerdict', () => {
  it('attaches a failing verdict too, and says so in the summary line', async () => {
    const logger = new MemoryLogger();
    const s = store(() => Promise.resolve({ digest: ARTIFACT }));
    const a = await attachScanVerdict({
      store: s.open,
      verdict,
      mode: 'auto',
      registry: '127.0.0.1:5000',
      logger,
    });
    expect(a).toEqual({ attached: true, image: IMAGE, digest: ARTIFACT });
    expect(describeVerdictAttachment(a)).toBe(
      `Verdict attached to \`127.0.0.1:5000/dreamscape/auth@sha256:aaaaaaaaaaaa\` as \`${ARTIFACT}\`.`,
    );
  });

  it('false: the registry is not even opened', async () => {
    const s = store(() => Promise.resolve({ digest: ARTIFACT }));
    const a = await attachScanVerdict({
      store: s.open,
      verdict,
      mode: 'false',
      registry: '127.0.0.1:5000',
      logger: new MemoryLogger(),
    });
    expect(a.attached).toBe(false);
    expect(s.opened()).toBe(0);
  });

  it('auto: a refusal (403) is a warning with the fix', async () => {
    const logger = new MemoryLogger();
    const a = await attachScanVerdict({
      store: refused.open,
      verdict,
      mode: 'auto',
      registry: '127.0.0.1:5000',
      logger,
    });
    expect(a).toEqual({
      attached: false,
      image: IMAGE,
      reason: '127.0.0.1:5000 refused the write (HTTP 403).',
    });
    const warnings = logger.entries.filter((e) => e.level === 'warning').map((e) => e.message);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("'permissions: packages: write'");
  });

  it.each([
    ['true', refused],
    ['true', down],
    ['auto', down],
  ] as const)('%s: a failure fails, naming the registry', async (mode, s) => {
    await expect(
      attachScanVerdict({
        store: s.open,
        verdict,
        mode,
        registry: '127.0.0.1:5000',
        logger: new MemoryLogger(),
      }),
    ).rejects.toThrow(
      `Could not attach the scan verdict to ${IMAGE} in 127.0.0.1:5000: 127.0.0.1:5000 answered`,
    );
  });
});
