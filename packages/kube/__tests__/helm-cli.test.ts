import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ActionError, CommandError } from '@dreamscape/core';
import { checkHelmVersion, HELM_STDERR_CHARS, HELM_VERSION, HelmCli } from '../src/helm-cli.js';
import { FakeRunner } from './support/fake-runner.js';

const SECRET = 'registry-token-51c2e9';

function cli(runner: FakeRunner): HelmCli {
  return new HelmCli({
    tool: '/opt/helm',
    runner,
    home: mkdtempSync(join(tmpdir(), 'helm-cli-')),
    secrets: [SECRET],
  });
}

async function commandError(promise: Promise<unknown>): Promise<CommandError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CommandError) return error;
    throw error;
  }
  throw new Error('expected a CommandError');
}

describe('HelmCli', () => {
  it('runs every command with its private helm directories, the secrets and a timeout', async () => {
    const runner = new FakeRunner([{ stdout: 'ok' }]);
    const helm = cli(runner);
    await helm.run(['template', 'x', '/c'], { offline: true });
    const spec = runner.specs[0];
    expect(spec?.tool).toBe('/opt/helm');
    expect(spec?.secrets).toEqual([SECRET]);
    expect(spec?.timeoutMs).toBeGreaterThan(0);
    expect(spec?.env).toMatchObject(helm.env);
    expect(spec?.env?.['HTTPS_PROXY']).toBe('http://127.0.0.1:9');
    expect(Object.keys(helm.env).sort()).toEqual([
      'DOCKER_CONFIG',
      'HELM_CACHE_HOME',
      'HELM_CONFIG_HOME',
      'HELM_DATA_HOME',
      'HELM_REGISTRY_CONFIG',
    ]);
  });

  it('shows the end of helm’s stderr, bounded and with secrets redacted', async () => {
    const stderr = `${'x'.repeat(5000)}\nError: bad token ${SECRET}\n`;
    const helm = cli(new FakeRunner([{ exitCode: 1, stderr }]));
    const said = helm.failure(await commandError(helm.run(['pull', 'oci://r/x'])));
    expect(said.length).toBe(HELM_STDERR_CHARS + 1);
    expect(said.startsWith('…')).toBe(true);
    expect(said.endsWith('Error: bad token ***')).toBe(true);
  });
});

describe('checkHelmVersion', () => {
  it('accepts the pinned version, and any with path', async () => {
    await expect(checkHelmVersion(cli(new FakeRunner([{ stdout: HELM_VERSION }])), 'pinned')).resolves.toBe(
      HELM_VERSION,
    );
    await expect(checkHelmVersion(cli(new FakeRunner([{ stdout: 'v3.19.0' }])), 'path')).resolves.toBe(
      'v3.19.0',
    );
  });

  it('refuses another version, quoting output that is not a version', async () => {
    const error = await checkHelmVersion(cli(new FakeRunner([{ stdout: 'v3.19.0\n' }])), 'pinned').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toBe(
      `helm: pinned needs helm ${HELM_VERSION}, but the helm on PATH (/opt/helm) reports v3.19.0.`,
    );
    const odd = await checkHelmVersion(cli(new FakeRunner([{ stdout: '::error::x\nhi' }])), 'pinned').catch(
      (e: unknown) => e,
    );
    expect((odd as ActionError).message).toContain('reports "::error::x\\nhi"');
  });

  it('turns a helm that cannot say its version into an error with the install hint', async () => {
    const error = await checkHelmVersion(
      cli(new FakeRunner([{ exitCode: 2, stderr: 'exec format error' }])),
      'path',
    ).catch((e: unknown) => e);
    expect((error as ActionError).message).toBe('/opt/helm version failed: exec format error');
    expect((error as ActionError).hint).toContain(`version: ${HELM_VERSION}`);
  });
});
