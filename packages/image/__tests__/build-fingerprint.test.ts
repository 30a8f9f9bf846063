import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MemoryLogger } from '@dreamscape/core';
import {
  FINGERPRINT_LABEL,
  computeBuildFingerprint,
  type BuildFingerprint,
  type BuildFingerprintInput,
} from '../src/index.js';

const NODE = `sha256:${'1'.repeat(64)}`;
const NODE_PATCHED = `sha256:${'2'.repeat(64)}`;
const ALPINE = `sha256:${'3'.repeat(64)}`;
const DISTROLESS = `sha256:${'4'.repeat(64)}`;

const DOCKERFILE = `ARG BASE=node:20-alpine
FROM \${BASE} AS deps
WORKDIR /app
COPY package.json ./
RUN npm install

FROM deps AS build
COPY . .
RUN --mount=type=secret,id=npm_token npm run build

FROM gcr.io/distroless/nodejs20 AS runtime
COPY --from=build /app/dist /app
COPY --from=alpine:3.20 /etc/ssl/certs /etc/ssl/certs
CMD ["/app/server.js"]
`;

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A service folder as a repository checkout has it: sources, a script, a link, ignored junk. */
function makeContext(): string {
  const root = mkdtempSync(join(tmpdir(), 'ds-fingerprint-'));
  roots.push(root);
  const context = join(root, 'svc');
  const put = (path: string, content: string, mode = 0o644): void => {
    mkdirSync(dirname(join(context, path)), { recursive: true });
    writeFileSync(join(context, path), content);
    chmodSync(join(context, path), mode);
  };
  mkdirSync(context, { mode: 0o755 });
  chmodSync(context, 0o755);
  put('Dockerfile', DOCKERFILE);
  put('package.json', '{"name":"voyage","version":"1.0.0"}\n');
  put('src/server.js', 'console.log("voyage");\n');
  put('src/routes/index.js', 'export default [];\n');
  put('scripts/start.sh', '#!/bin/sh\nexec node /app/server.js\n', 0o755);
  put('.dockerignore', 'node_modules\n*.log\n.env\n');
  put('node_modules/left-pad/index.js', 'module.exports = 1;\n');
  put('debug.log', 'noise\n');
  symlinkSync('src/server.js', join(context, 'main.js'));
  return context;
}

const resolver =
  (digests: Readonly<Record<string, string>> = {}) =>
  (reference: string): Promise<string | undefined> => {
    const table: Record<string, string> = {
      'node:20-alpine': NODE,
      'node:22-alpine': NODE_PATCHED,
      'alpine:3.20': ALPINE,
      'gcr.io/distroless/nodejs20': DISTROLESS,
      ...digests,
    };
    return Promise.resolve(table[reference]);
  };

function inputFor(context: string, overrides: Partial<BuildFingerprintInput> = {}): BuildFingerprintInput {
  return {
    context,
    dockerfile: join(context, 'Dockerfile'),
    target: 'runtime',
    buildArgs: [['NODE_ENV', 'production']],
    secretIds: ['npm_token'],
    labels: {
      'org.opencontainers.image.title': 'voyage',
      'org.opencontainers.image.revision': 'c0ffee',
    },
    platforms: ['linux/amd64'],
    builder: 'buildah',
    ...overrides,
  };
}

async function fingerprintOf(
  input: BuildFingerprintInput,
  digests: Readonly<Record<string, string>> = {},
  logger = new MemoryLogger(),
): Promise<BuildFingerprint> {
  const result = await computeBuildFingerprint(input, { resolveImage: resolver(digests), logger });
  if (result === undefined) throw new Error(`no fingerprint:\n${logger.text(true)}`);
  return result;
}

describe('computeBuildFingerprint', () => {
  it('is a sha256 digest, the same on a second computation, with each base image pinned', async () => {
    const context = makeContext();
    const first = await fingerprintOf(inputFor(context));
    const second = await fingerprintOf(inputFor(context));
    expect(first.value).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second.value).toBe(first.value);
    expect(first.baseImages).toEqual({
      'node:20-alpine': NODE,
      'gcr.io/distroless/nodejs20': DISTROLESS,
      'alpine:3.20': ALPINE,
    });
    expect(FINGERPRINT_LABEL).toBe('io.dreamscape.build.fingerprint');
  });

  it('is the same for a copy of the context in another directory', async () => {
    const context = makeContext();
    const elsewhere = mkdtempSync(join(tmpdir(), 'ds-fingerprint-copy-'));
    roots.push(elsewhere);
    const copy = join(elsewhere, 'nested', 'checkout');
    mkdirSync(dirname(copy), { recursive: true });
    execFileSync('cp', ['-a', context, copy]);
    const original = await fingerprintOf(inputFor(context));
    expect((await fingerprintOf(inputFor(copy))).value).toBe(original.value);
  });

  // Each change below is one a build would see; the fingerprint must see it too.
  const changes: [string, (context: string) => void][] = [
    [
      'a file changes content',
      (c) => {
        writeFileSync(join(c, 'src/server.js'), 'console.log("v2");\n');
      },
    ],
    [
      'a file is added',
      (c) => {
        writeFileSync(join(c, 'src/new.js'), '');
      },
    ],
    [
      'an empty directory is added',
      (c) => {
        mkdirSync(join(c, 'public'));
      },
    ],
    [
      'a file is deleted',
      (c) => {
        unlinkSync(join(c, 'src/routes/index.js'));
      },
    ],
    [
      'a file becomes executable',
      (c) => {
        chmodSync(join(c, 'src/server.js'), 0o755);
      },
    ],
    [
      'a symbolic link points elsewhere',
      (c) => {
        unlinkSync(join(c, 'main.js'));
        symlinkSync('src/routes/index.js', join(c, 'main.js'));
      },
    ],
    [
      'a file becomes a link to the same content',
      (c) => {
        const content = readFileSync(join(c, 'package.json'));
        writeFileSync(join(c, 'package.copy.json'), content);
        unlinkSync(join(c, 'package.json'));
        symlinkSync('package.copy.json', join(c, 'package.json'));
      },
    ],
    [
      'the Dockerfile changes',
      (c) => {
        writeFileSync(join(c, 'Dockerfile'), DOCKERFILE.replace('npm install', 'npm ci'));
      },
    ],
  ];
  it.each(changes)('changes when %s', async (_what, change) => {
    const context = makeContext();
    const before = await fingerprintOf(inputFor(context));
    change(context);
    expect((await fingerprintOf(inputFor(context))).value).not.toBe(before.value);
  });

  const inputChanges: [string, Partial<BuildFingerprintInput>][] = [
    ['a build argument value', { buildArgs: [['NODE_ENV', 'development']] }],
    [
      'a new build argument',
      {
        buildArgs: [
          ['NODE_ENV', 'production'],
          ['DEBUG', '1'],
        ],
      },
    ],
    ['the target', { target: 'build' }],
    [
      'a label value',
      { labels: { 'org.opencontainers.image.title': 'voyage', 'org.opencontainers.image.revision': 'beef' } },
    ],
    ['a secret id', { secretIds: ['npm_token', 'sentry_auth'] }],
    ['the platforms', { platforms: ['linux/amd64', 'linux/arm64'] }],
    ['the builder', { builder: 'buildx' }],
    ['the provenance setting', { provenance: 'mode=max' }],
    ['the SBOM setting', { sbom: true }],
  ];
  it.each(inputChanges)('changes with %s', async (_what, overrides) => {
    const context = makeContext();
    const before = await fingerprintOf(inputFor(context));
    expect((await fingerprintOf(inputFor(context, overrides))).value).not.toBe(before.value);
  });

  it('changes when a base image tag now points at another digest', async () => {
    const context = makeContext();
    const before = await fingerprintOf(inputFor(context));
    const after = await fingerprintOf(inputFor(context), { 'alpine:3.20': `sha256:${'9'.repeat(64)}` });
    expect(after.value).not.toBe(before.value);
    expect(after.baseImages['alpine:3.20']).toBe(`sha256:${'9'.repeat(64)}`);
  });

  it('follows a --build-arg that overrides the ARG in FROM, and pins the image it names', async () => {
    const context = makeContext();
    const overridden = await fingerprintOf(
      inputFor(context, {
        buildArgs: [
          ['NODE_ENV', 'production'],
          ['BASE', 'node:22-alpine'],
        ],
      }),
    );
    expect(overridden.baseImages).toEqual({
      'node:22-alpine': NODE_PATCHED,
      'gcr.io/distroless/nodejs20': DISTROLESS,
      'alpine:3.20': ALPINE,
    });
  });

  it('does not change when only an ignored file changes, or appears', async () => {
    const context = makeContext();
    const before = await fingerprintOf(inputFor(context));
    writeFileSync(join(context, 'debug.log'), 'other noise\n');
    writeFileSync(join(context, 'node_modules/left-pad/index.js'), 'module.exports = 2;\n');
    writeFileSync(join(context, '.env'), 'SECRET=1\n');
    mkdirSync(join(context, 'node_modules/new-dep'));
    expect((await fingerprintOf(inputFor(context))).value).toBe(before.value);
  });

  it('does not change with the created time or an earlier fingerprint label, or the order of inputs', async () => {
    const context = makeContext();
    const base = inputFor(context);
    const before = await fingerprintOf(base);
    const after = await fingerprintOf({
      ...base,
      labels: {
        [FINGERPRINT_LABEL]: before.value,
        'org.opencontainers.image.created': '2026-11-26T04:00:00.000Z',
        'org.opencontainers.image.revision': 'c0ffee',
        'org.opencontainers.image.title': 'voyage',
      },
      secretIds: ['npm_token', 'npm_token'],
    });
    expect(after.value).toBe(before.value);
  });

  it('lets the last of two build arguments with the same name win, as builders do', async () => {
    const context = makeContext();
    const single = await fingerprintOf(inputFor(context, { buildArgs: [['NODE_ENV', 'production']] }));
    const repeated = await fingerprintOf(
      inputFor(context, {
        buildArgs: [
          ['NODE_ENV', 'development'],
          ['NODE_ENV', 'production'],
        ],
      }),
    );
    const reversed = await fingerprintOf(
      inputFor(context, {
        buildArgs: [
          ['NODE_ENV', 'production'],
          ['NODE_ENV', 'development'],
        ],
      }),
    );
    expect(repeated.value).toBe(single.value);
    expect(reversed.value).not.toBe(single.value);
  });

  it('gives no fingerprint, and says why, when a base image cannot be resolved', async () => {
    const context = makeContext();
    const logger = new MemoryLogger();
    const result = await computeBuildFingerprint(inputFor(context), {
      resolveImage: (reference) => Promise.resolve(reference === 'alpine:3.20' ? undefined : NODE),
      logger,
    });
    expect(result).toBeUndefined();
    expect(logger.entries).toContainEqual({
      level: 'warning',
      message:
        'No build fingerprint, so no reuse of an earlier image: the base image alpine:3.20 could not be resolved to a digest.',
    });
  });

  it('gives no fingerprint when resolving a base image fails or returns something that is not a digest', async () => {
    const context = makeContext();
    const failing = new MemoryLogger();
    expect(
      await computeBuildFingerprint(inputFor(context), {
        resolveImage: () => Promise.reject(new Error('registry unreachable')),
        logger: failing,
      }),
    ).toBeUndefined();
    expect(failing.text()).toContain('could not be resolved (registry unreachable)');
    const odd = new MemoryLogger();
    expect(
      await computeBuildFingerprint(inputFor(context), {
        resolveImage: () => Promise.resolve('latest'),
        logger: odd,
      }),
    ).toBeUndefined();
    expect(odd.text()).toContain("resolved to 'latest', which is not a digest");
  });

  it('does not ask to resolve a base image that is already pinned by digest', async () => {
    const context = makeContext();
    const pinned = `node:20-alpine@${NODE}`;
    writeFileSync(join(context, 'Dockerfile'), `FROM ${pinned}\nCOPY . /app\n`);
    const asked: string[] = [];
    const result = await computeBuildFingerprint(inputFor(context, { target: undefined }), {
      resolveImage: (reference) => {
        asked.push(reference);
        return Promise.resolve(undefined);
      },
      logger: new MemoryLogger(),
    });
    expect(asked).toEqual([]);
    expect(result?.baseImages).toEqual({ [pinned]: NODE });
  });

  it('gives no fingerprint when the Dockerfile downloads something it does not pin', async () => {
    const context = makeContext();
    writeFileSync(join(context, 'Dockerfile'), 'FROM alpine:3.20\nADD https://example.com/tool.tgz /opt/\n');
    const logger = new MemoryLogger();
    const result = await computeBuildFingerprint(inputFor(context, { target: undefined }), {
      resolveImage: resolver(),
      logger,
    });
    expect(result).toBeUndefined();
    expect(logger.text()).toContain(
      'ADD on line 2 downloads https://example.com/tool.tgz without --checksum',
    );
  });

  it('gives no fingerprint when the context or the Dockerfile is missing', async () => {
    const context = makeContext();
    const logger = new MemoryLogger();
    const missingContext = await computeBuildFingerprint(
      inputFor(context, { context: join(context, 'nope') }),
      { resolveImage: resolver(), logger },
    );
    expect(missingContext).toBeUndefined();
    expect(logger.text()).toContain(
      `the build context cannot be hashed: the context ${join(context, 'nope')} cannot be read (ENOENT)`,
    );
    const missingDockerfile = await computeBuildFingerprint(
      inputFor(context, { dockerfile: join(context, 'Nope.Dockerfile') }),
      { resolveImage: resolver(), logger },
    );
    expect(missingDockerfile).toBeUndefined();
    expect(logger.text()).toContain(`the Dockerfile ${join(context, 'Nope.Dockerfile')} cannot be read`);
  });

  it('hashes a large file by streaming it, and notices a change in its last byte', async () => {
    const context = makeContext();
    const big = Buffer.alloc(24 * 1024 * 1024, 7);
    writeFileSync(join(context, 'model.bin'), big);
    const before = await fingerprintOf(inputFor(context));
    big[big.length - 1] = 8;
    writeFileSync(join(context, 'model.bin'), big);
    expect((await fingerprintOf(inputFor(context))).value).not.toBe(before.value);
  });

  it('logs what it covered', async () => {
    const context = makeContext();
    const logger = new MemoryLogger();
    const result = await fingerprintOf(inputFor(context), {}, logger);
    // Dockerfile, package.json, two sources, the script, .dockerignore: the ignored ones are not counted.
    expect(logger.text()).toMatch(
      new RegExp(
        `^Build fingerprint ${result.value}: 6 files \\(\\d+ bytes\\) in the context, 3 base images, \\d+ ms\\.$`,
        'm',
      ),
    );
  });
});
