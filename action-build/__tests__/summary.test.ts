import { describe, expect, it } from '@jest/globals';
import { formatBytes, renderSummary } from '../src/summary.js';

describe('build summary', () => {
  it('shows the image, digest, tags, size, builder and duration', () => {
    const md = renderSummary({
      record: {
        image: 'ghcr.io/dream/app@sha256:' + 'a'.repeat(64),
        digest: 'sha256:' + 'a'.repeat(64),
        tags: ['ghcr.io/dream/app:main', 'ghcr.io/dream/app:sha-1234567'],
        platforms: [],
        labels: { 'org.opencontainers.image.description': 'pipes | and\nnewlines' },
        builder: 'buildah',
        revision: '1234567890',
      },
      pushed: true,
      sizeBytes: 2_345_678,
      builderVersion: 'buildah version 1.28.2',
      durationMs: 65_000,
    });
    expect(md).toContain('### 📦 Image built: `ghcr.io/dream/app`');
    expect(md).toContain(`| Digest | \`sha256:${'a'.repeat(64)}\` |`);
    expect(md).toContain('`ghcr.io/dream/app:main`<br>`ghcr.io/dream/app:sha-1234567`');
    expect(md).toContain('| Size | 2.3 MB |');
    expect(md).toContain('| Builder | buildah (buildah version 1.28.2) |');
    expect(md).toContain('| Duration | 1m05s |');
    expect(md).toContain('pipes \\| and newlines');
  });

  it('formats sizes', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(3_200_000_000)).toBe('3.2 GB');
  });
});
