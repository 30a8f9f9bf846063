import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { InputError } from '@dreamscape/core';
import { CHART_LIMITS, isLoopbackHost, resolveChartSource } from '../src/chart-source.js';

function refusal(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('resolveChartSource', () => {
  const ws = mkdtempSync(join(tmpdir(), 'chart-source-'));

  it('reads oci:// references into registry and host', () => {
    expect(resolveChartSource('oci://ghcr.io/acme/charts/web', ws)).toEqual({
      kind: 'oci',
      reference: 'oci://ghcr.io/acme/charts/web',
      registry: 'ghcr.io',
      hostname: 'ghcr.io',
    });
    expect(resolveChartSource('oci://127.0.0.1:5000/charts/web', ws)).toMatchObject({
      registry: '127.0.0.1:5000',
      hostname: '127.0.0.1',
    });
    expect(resolveChartSource('oci://[::1]:5000/web', ws)).toMatchObject({
      registry: '[::1]:5000',
      hostname: '::1',
    });
  });

  it.each([
    ['oci://ghcr.io/Acme/web', 'is not an OCI repository path'],
    ['oci://ghcr.io/acme/web@sha256:abc', 'carries no tag or digest'],
    ['oci://gh cr.io/acme/web', 'is not a registry host[:port]'],
    ['oci://ghcr.io/acme//web', 'is not an OCI repository path'],
    ['file:///etc/chart', 'chart URLs are refused'],
    ['', 'no chart was given'],
    ['charts/web\n::error::x', 'it holds a line break or NUL'],
  ])('refuses %j', (chart, reason) => {
    const error = refusal(() => resolveChartSource(chart, ws));
    expect(error.input).toBe('chart');
    expect(error.message).toContain(reason);
  });

  it('refuses an archive over the size limit', () => {
    const file = join(ws, 'big.tgz');
    writeFileSync(file, '');
    truncateSync(file, CHART_LIMITS.archiveBytes + 1);
    expect(refusal(() => resolveChartSource('big.tgz', ws)).message).toContain(
      `is ${CHART_LIMITS.archiveBytes + 1} bytes, more than the ${CHART_LIMITS.archiveBytes} a chart archive may have`,
    );
  });

  it('reads a directory chart with its files and Chart.yaml, and refuses a Chart.yaml without a version', () => {
    mkdirSync(join(ws, 'web', 'templates'), { recursive: true });
    writeFileSync(
      join(ws, 'web', 'Chart.yaml'),
      'apiVersion: v2\nname: web\nversion: 1.2.3\nappVersion: 4.5\n',
    );
    writeFileSync(join(ws, 'web', 'templates', 'a.yaml'), 'kind: A\n');
    const chart = resolveChartSource('./web/', ws);
    expect(chart).toMatchObject({
      kind: 'directory',
      reference: 'web',
      metadata: { name: 'web', version: '1.2.3', appVersion: '4.5' },
    });
    expect(chart.kind === 'directory' ? chart.files.map((f) => f.path).sort() : []).toEqual([
      'Chart.yaml',
      'templates/a.yaml',
    ]);
    writeFileSync(join(ws, 'web', 'Chart.yaml'), 'apiVersion: v2\nname: web\n');
    expect(refusal(() => resolveChartSource('web', ws)).message).toContain(
      'web/Chart.yaml has no name and version',
    );
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['ghcr.io', false],
    ['10.0.0.1', false],
    ['localhost.example.com', false],
  ])('%s: %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
