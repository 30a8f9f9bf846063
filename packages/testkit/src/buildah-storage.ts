import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A buildah storage of its own, and the environment that points buildah (run by anyone) at it. */
export interface BuildahStorageEnv {
  readonly root: string;
  readonly runroot: string;
  readonly storageDriver: 'vfs';
  /** `CONTAINERS_STORAGE_CONF`, `STORAGE_DRIVER` and `BUILDAH_ISOLATION` for a child process. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Creates a vfs storage under `dir` and a `storage.conf` for it. A process started with `env`
 * (an action bundle, a script) builds into this storage without any buildah flag, which is how a
 * self-hosted runner configures buildah.
 */
export function buildahStorage(dir: string): BuildahStorageEnv {
  const root = join(dir, 'storage');
  const runroot = join(dir, 'run');
  mkdirSync(root, { recursive: true });
  mkdirSync(runroot, { recursive: true });
  const conf = join(dir, 'storage.conf');
  writeFileSync(conf, `[storage]\ndriver = "vfs"\ngraphroot = "${root}"\nrunroot = "${runroot}"\n`);
  return {
    root,
    runroot,
    storageDriver: 'vfs',
    env: { CONTAINERS_STORAGE_CONF: conf, STORAGE_DRIVER: 'vfs', BUILDAH_ISOLATION: 'chroot' },
  };
}
