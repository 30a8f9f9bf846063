import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { requireTool, resolveHelm } from '@dreamscape/testkit';
import { CHART_ARCHIVE_LIMITS, readChartArchive, withSubchartArchives } from '../src/chart-archive.js';

let helm: string;
let tar: string;
beforeAll(async () => {
  helm = await resolveHelm();
  tar = requireTool('tar');
});

/** A chart directory `demo` with a subchart `cache`, under a fresh directory. */
function chartTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chart-archive-'));
  const files: Record<string, string> = {
    'demo/Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 1.0.0\n',
    'demo/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n',
    [`demo/templates/${'deep/'.repeat(30)}long-name.yaml`]: 'kind: Long\n',
    'cache/Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 2.0.0\n',
    'cache/templates/pw.yaml': '{{ lookup "v1" "Secret" "" "" }}\n',
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

function helmIn(dir: string, args: string[]): void {
  execFileSync(helm, args, { cwd: dir, env: { HOME: dir, PATH: process.env.PATH ?? '' }, stdio: 'pipe' });
}

describe('readChartArchive', () => {
  it('lists the files of a helm package archive, long names and subcharts included', () => {
    const dir = chartTree();
    helmIn(dir, ['package', 'cache', '--destination', 'demo/charts']);
    helmIn(dir, ['package', 'demo']);
    const files = readChartArchive(readFileSync(join(dir, 'demo-1.0.0.tgz')));
    const byPath = new Map(files?.map((f) => [f.path, f.content.toString('utf8')]));
    expect(byPath.get('templates/cm.yaml')).toContain('kind: ConfigMap');
    expect(byPath.get(`templates/${'deep/'.repeat(30)}long-name.yaml`)).toBe('kind: Long\n');
    // helm package stores a packaged dependency as a directory.
    expect(byPath.get('charts/cache/templates/pw.yaml')).toContain('lookup');
  });

  it('opens subchart archives inside an archive, and inside a chart directory', () => {
    const dir = chartTree();
    helmIn(dir, ['package', 'cache', '--destination', 'demo/charts']);
    execFileSync(tar, ['-czf', 'by-hand.tgz', 'demo'], { cwd: dir });
    const files = readChartArchive(readFileSync(join(dir, 'by-hand.tgz'))) ?? [];
    expect(files.map((f) => f.path)).toContain('charts/cache-2.0.0.tgz');
    expect(
      files.find((f) => f.path === 'charts/cache-2.0.0/templates/pw.yaml')?.content.toString(),
    ).toContain('lookup');
    const inDirectory = withSubchartArchives([
      { path: 'charts/cache-2.0.0.tgz', read: () => readFileSync(join(dir, 'demo/charts/cache-2.0.0.tgz')) },
    ]);
    expect(inDirectory.map((f) => f.path)).toContain('charts/cache-2.0.0/templates/pw.yaml');
  });

  it('skips links and other entries that are not regular files, writing nothing', () => {
    const dir = chartTree();
    symlinkSync('/etc/passwd', join(dir, 'demo', 'templates', 'passwd.yaml'));
    execFileSync(tar, ['-czf', 'linked.tgz', '--format=gnu', 'demo'], { cwd: dir });
    const files = readChartArchive(readFileSync(join(dir, 'linked.tgz'))) ?? [];
    expect(files.map((f) => f.path)).not.toContain('templates/passwd.yaml');
    expect(files.map((f) => f.path)).toContain('templates/cm.yaml');
  });

  it('gives up on bytes that are not a gzipped tar, or expand beyond the limit', () => {
    expect(readChartArchive(Buffer.from('not gzip'))).toBeUndefined();
    const bomb = gzipSync(Buffer.alloc(CHART_ARCHIVE_LIMITS.expandedBytes + 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(readChartArchive(bomb)).toBeUndefined();
  });
});
