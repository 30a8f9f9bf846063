import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseImagesOf, type BaseImagesOptions } from '../src/dockerfile-base-images.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dockerfiles');
const options = (overrides: Partial<BaseImagesOptions> = {}): BaseImagesOptions => ({
  buildArgs: [],
  includeSyntax: false,
  ...overrides,
});

describe('baseImagesOf', () => {
  const pinnable: [string, string, Partial<BaseImagesOptions>, string[]][] = [
    ['a single FROM', 'FROM node:20-alpine\nCOPY . .\n', {}, ['node:20-alpine']],
    ['FROM scratch', 'FROM scratch\nCOPY app /app\n', {}, []],
    ['SCRATCH in capitals', 'FROM SCRATCH\n', {}, []],
    [
      'an ARG default in FROM, braced and bare',
      'ARG REGISTRY=ghcr.io\nARG TAG=20\nFROM ${REGISTRY}/acme/node:$TAG\n',
      {},
      ['ghcr.io/acme/node:20'],
    ],
    [
      'a --build-arg overriding the default',
      'ARG TAG=20\nFROM node:${TAG}-alpine\n',
      { buildArgs: [['TAG', '22']] },
      ['node:22-alpine'],
    ],
    [
      'the last of repeated build arguments',
      'ARG TAG=20\nFROM node:${TAG}\n',
      {
        buildArgs: [
          ['TAG', '21'],
          ['TAG', '22'],
        ],
      },
      ['node:22'],
    ],
    ['an ARG default using an earlier ARG', 'ARG V=20\nARG BASE=node:${V}\nFROM $BASE\n', {}, ['node:20']],
    [
      'an override of the earlier ARG reaching the later default',
      'ARG V=20\nARG BASE=node:${V}\nFROM $BASE\n',
      { buildArgs: [['V', '22']] },
      ['node:22'],
    ],
    ['${X:-word} for an ARG without value', 'ARG TAG\nFROM node:${TAG:-lts}\n', {}, ['node:lts']],
    ['${X:+word} for an ARG with a value', 'ARG SLIM=1\nFROM node:20${SLIM:+-slim}\n', {}, ['node:20-slim']],
    [
      'the target chain only, not the stages it does not use',
      'FROM golang:1.23 AS tools\nFROM node:20 AS build\nFROM nginx:1.27 AS web\nCOPY --from=build /a /b\n',
      { target: 'web' },
      ['node:20', 'nginx:1.27'],
    ],
    [
      'the target matched case-insensitively',
      'FROM node:20 AS Build\nFROM nginx:1.27\n',
      { target: 'BUILD' },
      ['node:20'],
    ],
    [
      'COPY --from an image, and --from a stage by name and by index',
      'FROM node:20 AS deps\nFROM deps AS build\nFROM alpine:3.20\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\nCOPY --from=busybox:1.36 /bin/busybox /bin/\n',
      {},
      ['node:20', 'alpine:3.20', 'busybox:1.36'],
    ],
    [
      'RUN --mount from= an image',
      'FROM alpine:3.20\nRUN --mount=type=bind,from=ghcr.io/acme/tools:1,source=/bin,target=/t /t/run\n',
      {},
      ['alpine:3.20', 'ghcr.io/acme/tools:1'],
    ],
    [
      'the syntax directive when asked for',
      '# syntax=docker/dockerfile:1.7\nFROM alpine:3.20\n',
      { includeSyntax: true },
      ['docker/dockerfile:1.7', 'alpine:3.20'],
    ],
    [
      'no syntax image when not asked for',
      '# syntax=docker/dockerfile:1.7\nFROM alpine:3.20\n',
      {},
      ['alpine:3.20'],
    ],
    [
      'ADD of a URL pinned by --checksum',
      `FROM alpine:3.20\nADD --checksum=sha256:${'a'.repeat(64)} https://example.com/t.tgz /t\n`,
      {},
      ['alpine:3.20'],
    ],
    [
      'an unpinnable ADD in a stage the target does not use',
      'FROM alpine:3.20 AS fetch\nADD https://example.com/t.tgz /t\nFROM node:20\n',
      {},
      ['node:20'],
    ],
    [
      'a digest-pinned image as written',
      `FROM node:20@sha256:${'b'.repeat(64)}\n`,
      {},
      [`node:20@sha256:${'b'.repeat(64)}`],
    ],
  ];
  it.each(pinnable)('finds, in Dockerfile order, the images of %s', (_what, text, overrides, images) => {
    expect(baseImagesOf(text, options(overrides))).toEqual({ pinnable: true, images });
  });

  const unpinnable: [string, string, Partial<BaseImagesOptions>, string][] = [
    ['no FROM', 'RUN true\n', {}, 'the Dockerfile has no FROM'],
    [
      'an unknown target',
      'FROM node:20 AS build\n',
      { target: 'web' },
      "the Dockerfile has no stage named 'web'",
    ],
    [
      'a platform argument in FROM',
      'FROM node:20-${TARGETARCH}\n',
      {},
      'FROM on line 1 uses $TARGETARCH, which differs per platform',
    ],
    [
      'a variable not declared before the first FROM',
      'FROM node:${TAG}\n',
      { buildArgs: [['TAG', '20']] },
      'FROM on line 1 uses $TAG, which is not an ARG declared before the first FROM',
    ],
    [
      'an ARG declared only inside a stage',
      'FROM alpine:3.20\nARG TAG=20\nFROM node:${TAG}\n',
      {},
      'FROM on line 3 uses $TAG, which is not an ARG declared before the first FROM',
    ],
    [
      'an expansion it does not know',
      'ARG T=20\nFROM node:${T%.*}\n',
      {},
      'FROM on line 2 uses the expansion ${T%.*}',
    ],
    [
      'an ARG that expands to nothing',
      'ARG BASE\nFROM ${BASE}\n',
      {},
      "FROM on line 2 names '', which is neither an earlier stage nor an image reference",
    ],
    [
      'a variable in COPY --from',
      'ARG S=x\nFROM alpine:3.20\nCOPY --from=$S /a /b\n',
      {},
      'COPY --from on line 3 uses a variable in its source stage or image',
    ],
    [
      'COPY --from a later stage',
      'FROM alpine:3.20 AS a\nCOPY --from=b /x /y\nFROM node:20 AS b\n',
      { target: 'a' },
      "COPY --from on line 2 names the stage 'b', which is not an earlier stage",
    ],
    [
      'COPY --from a stage index not yet built',
      'FROM alpine:3.20 AS a\nCOPY --from=1 /x /y\nFROM node:20\n',
      { target: 'a' },
      'COPY --from on line 2 refers to stage 1, which is not an earlier stage',
    ],
    [
      'ADD of a URL without --checksum',
      'FROM alpine:3.20\nADD https://example.com/t.tgz /t\n',
      {},
      'ADD on line 2 downloads https://example.com/t.tgz without --checksum',
    ],
    [
      'ADD of a Git repository',
      'FROM alpine:3.20\nADD git@github.com:acme/lib.git /src\n',
      {},
      'ADD on line 2 fetches the Git repository git@github.com:acme/lib.git',
    ],
    [
      'ADD of a Git repository over https, even with a checksum',
      `FROM alpine:3.20\nADD --checksum=sha256:${'a'.repeat(64)} https://github.com/acme/lib.git#v1 /src\n`,
      {},
      'ADD on line 2 fetches the Git repository https://github.com/acme/lib.git#v1',
    ],
    [
      'ADD from a variable',
      'FROM alpine:3.20\nARG URL\nADD ${URL} /t\n',
      {},
      'ADD on line 3 uses a variable in its source, which may be a URL',
    ],
    [
      'an unpinnable stage the target depends on',
      'FROM alpine:3.20 AS fetch\nADD https://example.com/t.tgz /t\nFROM node:20\nCOPY --from=fetch /t /t\n',
      {},
      'ADD on line 2 downloads https://example.com/t.tgz without --checksum',
    ],
  ];
  it.each(unpinnable)('cannot pin %s', (_what, text, overrides, reason) => {
    expect(baseImagesOf(text, options(overrides))).toEqual({ pinnable: false, reason });
  });

  it('reads the multi-stage fixture: the global BASE_IMAGE default, once', () => {
    const text = readFileSync(join(fixtures, 'multistage.Dockerfile'), 'utf8');
    expect(baseImagesOf(text, options())).toEqual({ pinnable: true, images: ['node:20-alpine'] });
    expect(baseImagesOf(text, options({ buildArgs: [['BASE_IMAGE', 'node:22-alpine']] }))).toEqual({
      pinnable: true,
      images: ['node:22-alpine'],
    });
  });
});
