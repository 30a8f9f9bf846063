import { describe, expect, it } from '@jest/globals';
import { InputError } from '@dreamscape/core';
import { defaultCategory, parseScanTarget } from '../src/index.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

describe('parseScanTarget', () => {
  it.each([
    [`ghcr.io/dreamscape/auth@${DIGEST}`, 'ghcr.io', 'dreamscape/auth', undefined],
    [`ghcr.io/dreamscape/auth:1.2.3@${DIGEST}`, 'ghcr.io', 'dreamscape/auth', '1.2.3'],
    [`127.0.0.1:5000/app@${DIGEST}`, '127.0.0.1:5000', 'app', undefined],
    [`localhost/team/app:v1@${DIGEST}`, 'localhost', 'team/app', 'v1'],
    [`alpine@${DIGEST}`, 'docker.io', 'library/alpine', undefined],
    [`bitnami/nginx:1.25@${DIGEST}`, 'docker.io', 'bitnami/nginx', '1.25'],
  ])('parses %s', (text, registry, repository, tag) => {
    const t = parseScanTarget(text);
    expect(t).toEqual({
      registry,
      repository,
      tag,
      digest: DIGEST,
      name: `${registry}/${repository}`,
      reference: `${registry}/${repository}@${DIGEST}`,
    });
  });

  it("accepts action-build's build record", () => {
    const record = JSON.stringify({
      image: `ghcr.io/dreamscape/voyage@${DIGEST}`,
      digest: DIGEST,
      tags: ['ghcr.io/dreamscape/voyage:sha-abc1234'],
      platforms: ['linux/amd64'],
      labels: {},
      builder: 'buildah',
      revision: 'abc1234',
    });
    expect(parseScanTarget(record).reference).toBe(`ghcr.io/dreamscape/voyage@${DIGEST}`);
  });

  it.each([
    ['ghcr.io/dreamscape/auth:1.2.3', 'it has no digest; scan the exact image that will be deployed'],
    ['ghcr.io/dreamscape/auth@sha256:abc', "'sha256:abc' is not a sha256 digest"],
    [`ghcr.io/DreamScape/auth@${DIGEST}`, "'DreamScape' is not a valid repository name component"],
    [`ghcr.io/dreamscape/auth:-bad@${DIGEST}`, "'-bad' is not a valid tag"],
    ['{"image": 3}', "the build record has no 'image'"],
    ['{not json', 'it looks like JSON but does not parse'],
    [
      JSON.stringify({ image: `ghcr.io/a/b@${DIGEST}`, digest: `sha256:${'d'.repeat(64)}` }),
      "the build record's digest",
    ],
    ['', "Input 'image' is required"],
  ])('refuses %j', (text, message) => {
    expect(() => parseScanTarget(text)).toThrow(InputError);
    expect(() => parseScanTarget(text)).toThrow(message);
  });

  it('names the input and what is accepted', () => {
    expect(() => parseScanTarget('nginx:latest')).toThrow(
      'Input \'image\' has an invalid value "nginx:latest": it has no digest; scan the exact image that will be deployed (image@sha256:...). Accepted: an image reference with a digest',
    );
  });
});

describe('defaultCategory', () => {
  it('is one per image name, whatever the tag or digest', () => {
    const a = parseScanTarget(`ghcr.io/dreamscape/auth:1@${DIGEST}`);
    const b = parseScanTarget(`ghcr.io/dreamscape/auth@sha256:${'e'.repeat(64)}`);
    expect(defaultCategory(a)).toBe('image/ghcr.io/dreamscape/auth');
    expect(defaultCategory(b)).toBe(defaultCategory(a));
  });
});
