import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ActionError, MemoryLogger } from '@dreamscape/core';
import {
  checkKubectlVersion,
  judgeKubectlVersion,
  Kubectl,
  KubectlError,
  SUPPORTED_KUBECTL,
  SUPPORTED_KUBECTL_RANGE,
} from '../src/index.js';
import { FakeRunner, type FakeAnswer } from './support/fake-runner.js';

const clientVersion = (gitVersion: string): FakeAnswer => ({
  stdout: JSON.stringify({ clientVersion: { major: '1', gitVersion }, kustomizeVersion: 'v5.7.1' }),
});

function setup(answers: FakeAnswer[], kubectlPath?: string) {
  const runner = new FakeRunner(answers);
  const logger = new MemoryLogger();
  const kubectl = new Kubectl({
    runner,
    logger,
    cacheDir: mkdtempSync(join(tmpdir(), 'kube-version-')),
    kubeconfig: '/cfg/kubeconfig',
    retry: { attempts: 1 },
    ...(kubectlPath === undefined ? {} : { kubectlPath }),
  });
  return { runner, logger, kubectl };
}

describe('judgeKubectlVersion', () => {
  it.each([
    ['v1.32.3', 'supported'],
    ['v1.33.1', 'supported'],
    ['v1.35.2', 'supported'],
    ['1.34.0', 'supported'],
    ['v1.32.4-dispatcher', 'supported'],
    ['v1.33.5-eks-1a2b3c4', 'supported'],
    ['v1.35.0+k3s1', 'supported'],
    ['v1.31.9', 'older'],
    ['v1.27.0', 'older'],
    ['v0.99.0', 'older'],
    ['v1.36.0', 'newer'],
    ['v1.40.1-alpha.1', 'newer'],
    ['v2.0.0', 'newer'],
    ['', 'unreadable'],
    ['v1.32', 'unreadable'],
    ['kubectl', 'unreadable'],
    ['v1.x.0', 'unreadable'],
  ] as const)('%j is %s', (reported, verdict) => {
    expect(judgeKubectlVersion(reported).verdict).toBe(verdict);
  });

  it('spans the oldest and the newest tested minors', () => {
    expect(SUPPORTED_KUBECTL).toEqual({ major: 1, oldest: 32, newestTested: 35 });
    expect(SUPPORTED_KUBECTL_RANGE).toBe('1.32 to 1.35');
  });
});

describe('checkKubectlVersion', () => {
  it('passes a supported version without a warning', () => {
    expect(checkKubectlVersion('the kubectl on PATH', 'v1.33.1')).toEqual({ version: 'v1.33.1' });
  });

  it('refuses an older kubectl, naming the version found and the supported range', () => {
    const error = (() => {
      try {
        checkKubectlVersion('the kubectl on PATH', 'v1.31.9');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toBe(
      'The kubectl on PATH is v1.31.9, older than the oldest supported kubectl (1.32); supported: kubectl 1.32 to 1.35.',
    );
    expect((error as ActionError).hint).toMatch(/azure\/setup-kubectl/);
  });

  it('refuses output that is not a version, quoted and cut', () => {
    expect(() => checkKubectlVersion('the kubectl /opt/k', 'not a version\n::set-output name=x::y')).toThrow(
      'The kubectl /opt/k reports the version "not a version\\n::set-output name=x::y" (kubectl version --client), which is not a kubectl version; supported: kubectl 1.32 to 1.35.',
    );
    expect(() => checkKubectlVersion('the kubectl on PATH', '')).toThrow(/reports the version ""/);
  });

  it('passes a newer kubectl with a warning', () => {
    expect(checkKubectlVersion('the kubectl on PATH', 'v1.36.0')).toEqual({
      version: 'v1.36.0',
      warning:
        'The kubectl on PATH is v1.36.0, newer than the newest tested kubectl (1.35); supported: kubectl 1.32 to 1.35. It is used, but this version was not tested.',
    });
  });
});

describe('Kubectl.requireSupportedVersion', () => {
  it('asks `version --client -o json` once, logs the version and resolves to it', async () => {
    const { runner, logger, kubectl } = setup([clientVersion('v1.35.2')]);
    await expect(kubectl.requireSupportedVersion()).resolves.toBe('v1.35.2');
    await expect(kubectl.requireSupportedVersion()).resolves.toBe('v1.35.2');
    expect(runner.specs).toHaveLength(1);
    expect(runner.argv(0)).toEqual(['version', '--client', '-o', 'json']);
    expect(logger.entries).toContainEqual({
      level: 'info',
      message: 'Using kubectl v1.35.2 (the kubectl on PATH); supported: kubectl 1.32 to 1.35.',
    });
  });

  it('warns for a newer kubectl and goes on', async () => {
    const { logger, kubectl } = setup([clientVersion('v1.36.1')]);
    await expect(kubectl.requireSupportedVersion()).resolves.toBe('v1.36.1');
    expect(logger.entries.filter((e) => e.level === 'warning').map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^The kubectl on PATH is v1\.36\.1, newer than the newest tested kubectl \(1\.35\)/,
      ),
    ]);
  });

  it('refuses an older kubectl, named by its path when one was given', async () => {
    const { kubectl } = setup([clientVersion('v1.29.4')], '/opt/bin/kubectl');
    await expect(kubectl.requireSupportedVersion()).rejects.toThrow(
      'The kubectl /opt/bin/kubectl is v1.29.4, older than the oldest supported kubectl (1.32); supported: kubectl 1.32 to 1.35.',
    );
  });

  it('refuses output that is not JSON, showing it', async () => {
    const { kubectl } = setup([{ stdout: 'Client Version: v1.32.3\n' }]);
    await expect(kubectl.requireSupportedVersion()).rejects.toThrow(
      /reports the version "Client Version: v1\.32\.3" \(kubectl version --client\), which is not a kubectl version/,
    );
  });

  it('refuses JSON without a client version', async () => {
    const { kubectl } = setup([{ stdout: '{"serverVersion":{"gitVersion":"v1.32.3"}}' }]);
    await expect(kubectl.requireSupportedVersion()).rejects.toThrow(/reports the version ""/);
  });

  it('a kubectl that fails to run is a KubectlError, as for any other call', async () => {
    const { kubectl } = setup([{ exitCode: 1, stderr: 'error: unknown flag: --client' }]);
    await expect(kubectl.requireSupportedVersion()).rejects.toBeInstanceOf(KubectlError);
  });
});
