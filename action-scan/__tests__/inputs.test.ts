import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputsFrom } from '@dreamscape/core';
import { readInputs } from '../src/inputs.js';

const IMAGE = `ghcr.io/dreamscape/auth@sha256:${'1'.repeat(64)}`;
const workspace = realpathSync(mkdtempSync(join(tmpdir(), 'ds-inputs-')));
writeFileSync(join(workspace, 'waivers.yml'), '');
const elsewhere = mkdtempSync(join(tmpdir(), 'ds-inputs-elsewhere-'));
symlinkSync(elsewhere, join(workspace, 'linked'));
mkdirSync(join(workspace, 'results'));
const SHA = '2AE6FE3EE734B7FDF11335663E18C75EA12DCCC76062F09F164A3B0F8BE4371A';
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
      attachVerdict: 'auto',
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
        'scanner-sha256': SHA,
        'comment-author': 'dreamscape-ci[bot]',
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
        'attach-verdict': 'TRUE',
        'cache-dir': '.cache/grype',
        timeout: '30m',
      }),
      env,
    );
    expect(i).toMatchObject({
      scanner: 'grype',
      scannerVersion: '0.110.0',
      scannerDownloadUrl: 'https://mirror.example/grype/v{version}',
      scannerSha256: SHA.toLowerCase(),
      commentAuthor: 'dreamscape-ci[bot]',
      threshold: 'critical',
      ignoreUnfixed: true,
      waiversFile: join(workspace, 'waivers.yml'),
      sarifFile: join(workspace, 'results/grype.sarif'),
      category: 'images/auth',
      credentials: { username: 'u', password: 'p' },
      githubToken: 't',
      summary: false,
      failBuild: false,
      attachVerdict: 'true',
      dbDir: join(workspace, '.cache/grype'),
      timeoutMs: 30 * 60_000,
    });
  });

  it('writes sarif-file and cache-dir in the runner temp directory when given there', () => {
    const i = readInputs(
      inputsFrom({ image: IMAGE, 'sarif-file': '/runner/temp/a.sarif', 'cache-dir': '/runner/temp/db' }),
      env,
    );
    expect(i).toMatchObject({ sarifFile: '/runner/temp/a.sarif', dbDir: '/runner/temp/db' });
  });

  it.each([
    [{ 'scanner-download-url': 'ftp://x' }, "Input 'scanner-download-url' has an invalid value"],
    [
      { 'scanner-download-url': 'http://mirror.example/{version}', 'scanner-sha256': SHA },
      'Input \'scanner-download-url\' has an invalid value "http://mirror.example/{version}". Accepted: an https URL',
    ],
    [
      { 'scanner-download-url': 'https://mirror.example/{version}' },
      "Input 'scanner-sha256' is required. Accepted: the sha256 of the release archive served by scanner-download-url (https://mirror.example/{version}): a custom download location is trusted only with a checksum you pin.",
    ],
    [
      { 'scanner-sha256': 'abc' },
      "Input 'scanner-sha256' has an invalid value \"abc\". Accepted: the archive's sha256",
    ],
    [{ 'comment-author': 'bad login!' }, "Input 'comment-author' has an invalid value"],
    [
      { 'sarif-file': '../x.sarif' },
      'Input \'sarif-file\' has an invalid value "../x.sarif": the path leads outside',
    ],
    [
      { 'sarif-file': '/etc/x.sarif' },
      'Input \'sarif-file\' has an invalid value "/etc/x.sarif": the path leads outside',
    ],
    [{ 'sarif-file': 'linked/x.sarif' }, 'through a symbolic link'],
    [
      { 'cache-dir': '../../db' },
      'Input \'cache-dir\' has an invalid value "../../db": the path leads outside',
    ],
    [{ 'cache-dir': '/root/.cache' }, 'Input \'cache-dir\' has an invalid value "/root/.cache"'],
    [
      { 'cache-dir': 'linked' },
      'Input \'cache-dir\' has an invalid value "linked": the path leads outside the workspace and the runner temp directory through a symbolic link',
    ],
    [{ category: '../x y' }, "Input 'category' has an invalid value"],
    [{ timeout: '1s' }, "Input 'timeout' has an invalid value"],
    [
      { 'ignore-unfixed': 'maybe' },
      'Input \'ignore-unfixed\' has an invalid value "maybe". Accepted: true or false.',
    ],
    [
      { 'attach-verdict': 'yes' },
      "Input 'attach-verdict' has an invalid value \"yes\". Accepted: 'auto', 'true', 'false'.",
    ],
    [{ dockerfile: 'missing/Dockerfile' }, 'Input \'dockerfile\' has an invalid value "missing/Dockerfile"'],
  ])('refuses %j', (extra, message) => {
    expect(() => readInputs(inputsFrom({ image: IMAGE, ...extra }), env)).toThrow(message);
  });
});
