import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/** The reference the local base image gets. `localhost/` keeps buildah from looking for it in a registry. */
export const BASE_IMAGE_REFERENCE = 'localhost/dreamscape/base:busybox';

/** Which buildah storage the base image goes into (the same storage the builds using it must use). */
export interface BaseImageOptions {
  /** `--root`; default buildah's. */
  readonly root?: string | undefined;
  /** `--runroot`; default buildah's. */
  readonly runroot?: string | undefined;
  /** `--storage-driver`; default `STORAGE_DRIVER` or buildah's. */
  readonly storageDriver?: string | undefined;
  /** Default {@link BASE_IMAGE_REFERENCE}. */
  readonly reference?: string;
}

/**
 * Makes sure a tiny base image exists in a buildah storage and returns its reference, so Dockerfiles
 * that take `--build-arg BASE_IMAGE=...` build offline: nothing can be pulled here.
 *
 * The image is one layer made FROM scratch: the static busybox as `/bin/busybox`, a symlink for
 * each of its applets (`sh`, `wget`, `httpd`, ...) where `busybox --list-full` puts them, an
 * `/etc/passwd` with root and nobody, and a world-writable `/tmp`. The applet links are made on the
 * host, so building it needs no RUN step. It is built with a fixed timestamp, so the same busybox
 * gives the same image ID in every storage. When the image is already there this costs one
 * `buildah images` call.
 */
export async function ensureBaseImage(options: BaseImageOptions = {}): Promise<string> {
  const buildah = requireTool('buildah');
  const reference = options.reference ?? BASE_IMAGE_REFERENCE;
  const global = [
    ...(options.root === undefined ? [] : ['--root', options.root]),
    ...(options.runroot === undefined ? [] : ['--runroot', options.runroot]),
    ...(options.storageDriver === undefined ? [] : ['--storage-driver', options.storageDriver]),
  ];
  try {
    await run(buildah, [...global, 'images', '--quiet', reference]);
    return reference;
  } catch {
    // not there yet: build it below
  }

  const busybox = requireTool('busybox');
  await assertStatic(busybox);
  const dir = mkdtempSync(join(tmpdir(), 'ds-base-image-'));
  try {
    const rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    const { stdout } = await run(busybox, ['--list-full']);
    for (const applet of stdout.split('\n').map((l) => l.trim())) {
      if (applet === '' || applet === 'bin/busybox') continue;
      mkdirSync(join(rootfs, dirname(applet)), { recursive: true });
      symlinkSync('/bin/busybox', join(rootfs, applet));
    }
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(
      join(rootfs, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    );
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    mkdirSync(join(rootfs, 'tmp'));
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    mkdirSync(join(rootfs, 'root'), { mode: 0o700 });
    writeFileSync(
      join(dir, 'Containerfile'),
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'LABEL org.opencontainers.image.title="dreamscape busybox base" org.opencontainers.image.description="A static busybox FROM scratch, for offline builds and tests."',
        'CMD ["/bin/sh"]',
        '',
      ].join('\n'),
    );
    await run(
      buildah,
      [
        ...global,
        'bud',
        '--isolation',
        'chroot',
        '--timestamp',
        '0',
        '--tag',
        reference,
        '--file',
        join(dir, 'Containerfile'),
        dir,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`Building the base image ${reference} failed:\n${stderr}`, { cause: error });
    });
    return reference;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Refuses a dynamically linked busybox: it would not run in an image without a libc. */
async function assertStatic(busybox: string): Promise<void> {
  const dynamic = await run('ldd', [busybox]).then(
    () => true,
    () => false,
  );
  if (dynamic)
    throw new Error(
      `${busybox} is dynamically linked, so it cannot run in an image without a libc. Install the static build: apt-get install -y busybox-static (or run scripts/install-system-deps.sh).`,
    );
}
