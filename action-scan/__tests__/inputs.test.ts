import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputsFrom } from '@dreamscape/core';
import { readInputs } from '../src/inputs.js';

const IMAGE = `ghcr.io/dreamscape/auth@sha256:${'1'.repeat(64)}`;
const workspace = mkdtempSync(join(tmpdir(), 'ds-inputs-'));
writeFileSync(join(workspace, 'waivers.yml'), '');
const env = { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: '/runner/temp', RUNNER_TOOL_CACHE: '/runner/tools' };

describe('readInputs', () => {
  it('applies the defaults', () => {
    const i = readInputs(inputsFrom({ image: IMAGE }), env);
    expect(i).toMatchObject({
      scanner: 'trivy',
      scannerVersion: '0.74.0',
      threshold: 'high',
      ignoreUnfixed: false,
      summary: true,
      failBuild: true,
      category: 'image/ghcr.io/dreamscape/auth',
      sarifFile: '/runner/temp/dreamscape-scan/image-ghcr.io-dreamscape-auth/results.sarif',
      reportFile: '/runner/temp/dreamscape-scan/image-ghcr.io-dreamscape-auth/report.json',
      dbDir: '/runner/tools/dreamscape-scan/trivy-db',
      toolCacheDir: '/runner/tools',
      timeoutMs: 15 * 60_000,
      credentials: undefined,
      githubToken: undefined,
      waiversFile: undefined,
    });
  });

  it('reads every input', () => {
    const i = readInputs(
      inputsFrom({
        image: IMAGE,
        scanner: 'GRYPE',
        'scanner-version': 'v0.110.0',
        'scanner-download-url': 'https://mirror.example/grype/v{version}',
        'severity-threshold': 'critical',
        'ignore-unfixed': 'true',
        waivers: 'waivers.yml',
        'sarif-file': 'results/grype.sarif',
        category: 'images/auth',
        'registry-username': 'u',
        'registry-password': 'p',
        'github-token': 't',
        summary: 'false',
        'fail-build': 'no',
        'cache-dir': '.cache/grype',
        timeout: '30m',
      }),
      env,
    );
    expect(i).toMatchObject({
      scanner: 'grype',
      scannerVersion: '0.110.0',
      scannerDownloadUrl: 'https://mirror.example/grype/v{version}',
      threshold: 'critical',
      ignoreUnfixed: true,
      waiversFile: join(workspace, 'waivers.yml'),
      sarifFile: join(workspace, 'results/grype.sarif'),
      category: 'images/auth',
      credentials: { username: 'u', password: 'p' },
      githubToken: 't',
      summary: false,
      failBuild: false,
      dbDir: join(workspace, '.cache/grype'),
      timeoutMs: 30 * 60_000,
    });
  });

  it.each([
    [{ 'scanner-download-url': 'ftp://x' }, "Input 'scanner-download-url' has an invalid value"],
    [{ category: '../x y' }, "Input 'category' has an invalid value"],
    [{ timeout: '1s' }, "Input 'timeout' has an invalid value"],
    [
      { 'ignore-unfixed': 'maybe' },
      'Input \'ignore-unfixed\' has an invalid value "maybe". Accepted: true or false.',
    ],
    [{ dockerfile: 'missing/Dockerfile' }, 'Input \'dockerfile\' has an invalid value "missing/Dockerfile"'],
  ])('refuses %j', (extra, message) => {
    expect(() => readInputs(inputsFrom({ image: IMAGE, ...extra }), env)).toThrow(message);
  });
});
