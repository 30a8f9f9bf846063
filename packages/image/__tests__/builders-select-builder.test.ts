import { describe, expect, it } from '@jest/globals';
import { tmpdir } from 'node:os';
import { ActionError, MemoryLogger, type CommandSpec } from '@dreamscape/core';
import { selectBuilder, type BuilderPreference } from '../src/builders/select-builder.js';
import { FakeRunner, type FakeAnswer } from './builders-fake-runner.js';

/** What each probe answers on a given machine. */
interface Machine {
  readonly buildx?: FakeAnswer;
  readonly dockerInfo?: FakeAnswer;
  readonly buildah?: FakeAnswer;
}

const GITHUB_HOSTED: Machine = {
  buildx: { stdout: 'github.com/docker/buildx v0.29.1 1e4ea4a\n' },
  dockerInfo: { stdout: '28.0.4\n' },
  buildah: { stdout: 'buildah version 1.33.7 (image-spec 1.1.0, runtime-spec 1.2.0)\n' },
};
const NO_DAEMON: Machine = {
  buildx: { stdout: 'github.com/docker/buildx v0.24.0 d0e5e86\n' },
  dockerInfo: {
    exitCode: 1,
    stdout: '\n',
    stderr:
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
  },
  buildah: { stdout: 'buildah version 1.28.2 (image-spec 1.1.0-rc2, runtime-spec 1.0.2-dev)\n' },
};
const NOTHING: Machine = {
  buildx: { spawnError: 'docker was not found on PATH' },
  dockerInfo: { spawnError: 'docker was not found on PATH' },
  buildah: { spawnError: 'buildah was not found on PATH' },
};

function machine(m: Machine): FakeRunner {
  return new FakeRunner((spec: CommandSpec) => {
    const line = [spec.tool, ...spec.args].join(' ');
    if (line === 'docker buildx version') return m.buildx ?? { spawnError: 'docker was not found on PATH' };
    if (line === 'docker info --format {{.ServerVersion}}') return m.dockerInfo ?? { exitCode: 1 };
    if (line === 'buildah --version') return m.buildah ?? { spawnError: 'buildah was not found on PATH' };
    throw new Error(`unexpected command ${line}`);
  });
}

async function select(m: Machine, preference: BuilderPreference) {
  const runner = machine(m);
  const logger = new MemoryLogger();
  try {
    const builder = await selectBuilder({ preference, runner, logger, tempDir: tmpdir() });
    return { builder, error: undefined, logger, runner };
  } catch (error) {
    if (!(error instanceof ActionError)) throw error;
    return { builder: undefined, error, logger, runner };
  }
}

describe('selectBuilder', () => {
  it('auto picks buildx when a Docker daemon answers, and says why', async () => {
    const { builder, logger, runner } = await select(GITHUB_HOSTED, 'auto');
    expect(builder?.name).toBe('buildx');
    expect(logger.text()).toBe(
      'Builder: buildx, because a Docker daemon answers (github.com/docker/buildx v0.29.1 1e4ea4a, Docker Engine 28.0.4).',
    );
    expect(runner.lines()).toEqual(['docker buildx version', 'docker info --format {{.ServerVersion}}']);
    expect(runner.calls.every((c) => c.timeoutMs === 20_000)).toBe(true);
  });

  it('auto picks buildah when docker is installed but no daemon answers', async () => {
    const { builder, logger } = await select(NO_DAEMON, 'auto');
    expect(builder?.name).toBe('buildah');
    expect(logger.text()).toBe(
      'Builder: buildah (buildah version 1.28.2 (image-spec 1.1.0-rc2, runtime-spec 1.0.2-dev)), because buildx cannot build here: no Docker daemon answers (`docker info`: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?).',
    );
  });

  it('auto picks buildah when docker has no buildx plugin', async () => {
    const { builder, logger, runner } = await select(
      { ...GITHUB_HOSTED, buildx: { exitCode: 1, stderr: "docker: 'buildx' is not a docker command.\n" } },
      'auto',
    );
    expect(builder?.name).toBe('buildah');
    expect(logger.text()).toContain(
      "`docker buildx version` failed: docker: 'buildx' is not a docker command.",
    );
    expect(runner.lines()).not.toContain('docker info --format {{.ServerVersion}}');
  });

  it('auto fails when neither can run, naming the input and both ways out', async () => {
    const { error } = await select(NOTHING, 'auto');
    expect(error?.message).toBe(
      "Input 'builder' is 'auto', but no image builder can run here: buildx: `docker buildx version` failed: docker was not found on PATH; buildah: `buildah --version` failed: buildah was not found on PATH.",
    );
    expect(error?.hint).toContain('docker/setup-buildx-action');
    expect(error?.hint).toContain('apt-get install -y buildah');
  });

  it('an explicit buildx is used when it works, even where buildah exists', async () => {
    const { builder, logger } = await select(GITHUB_HOSTED, 'buildx');
    expect(builder?.name).toBe('buildx');
    expect(logger.text()).toContain("Builder: buildx, as the 'builder' input asks");
  });

  it('an explicit buildx without a daemon fails clearly instead of falling back', async () => {
    const { error } = await select(NO_DAEMON, 'buildx');
    expect(error?.message).toBe(
      "Input 'builder' is 'buildx', but docker buildx cannot build here: no Docker daemon answers (`docker info`: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?).",
    );
    expect(error?.hint).toContain('setup-buildx-action');
    expect(error?.hint).toContain('`builder: buildah`');
  });

  it('an explicit buildah is used without probing docker', async () => {
    const { builder, runner } = await select(GITHUB_HOSTED, 'buildah');
    expect(builder?.name).toBe('buildah');
    expect(runner.lines()).toEqual(['buildah --version']);
  });

  it('an explicit buildah that is missing fails with how to install it', async () => {
    const { error } = await select(
      { ...GITHUB_HOSTED, buildah: { spawnError: 'buildah was not found on PATH' } },
      'buildah',
    );
    expect(error?.message).toBe(
      "Input 'builder' is 'buildah', but buildah cannot run here: `buildah --version` failed: buildah was not found on PATH.",
    );
    expect(error?.hint).toBe(
      'Install buildah (`sudo apt-get install -y buildah` on Debian and Ubuntu; GitHub-hosted Ubuntu runners have it), or set `builder: buildx`.',
    );
  });

  it('uses the configured executables', async () => {
    const runner = new FakeRunner(() => ({ stdout: 'v1\n' }));
    await selectBuilder({
      preference: 'auto',
      runner,
      logger: new MemoryLogger(),
      tempDir: tmpdir(),
      buildx: { docker: '/opt/docker/bin/docker' },
    });
    expect(runner.lines()[0]).toBe('/opt/docker/bin/docker buildx version');
  });
});
