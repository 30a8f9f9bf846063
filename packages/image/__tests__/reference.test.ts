import { describe, expect, it } from '@jest/globals';
import {
  familiarReference,
  formatReference,
  ImageReferenceError,
  isValidDigest,
  isValidTag,
  normalizeReference,
  parseImageName,
  parseReference,
  repositoryPathProblem,
  validateTag,
  withDigest,
  withTag,
} from '../src/index.js';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseReference / normalizeReference', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27-alpine', 'docker.io/library/nginx:1.27-alpine'],
    ['bitnami/redis', 'docker.io/bitnami/redis:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest'],
    ['index.docker.io/library/nginx:1', 'docker.io/library/nginx:1'],
    ['ghcr.io/octo-org/voyage:1.2.3', 'ghcr.io/octo-org/voyage:1.2.3'],
    ['GHCR.IO/octo-org/voyage', 'ghcr.io/octo-org/voyage:latest'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['localhost/app:dev', 'localhost/app:dev'],
    ['localhost:5000/team/app', 'localhost:5000/team/app:latest'],
    ['registry.example.com:8443/a/b/c:v2', 'registry.example.com:8443/a/b/c:v2'],
    [`nginx@${DIGEST}`, `docker.io/library/nginx@${DIGEST}`],
    [`ghcr.io/o/app:1.0@${DIGEST}`, `ghcr.io/o/app:1.0@${DIGEST}`],
    ['my_org/app__x.y-z', 'docker.io/my_org/app__x.y-z:latest'],
    ['org/app---beta', 'docker.io/org/app---beta:latest'],
    ['[::1]:5000/app:1', '[::1]:5000/app:1'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeReference(input)).toBe(expected);
  });

  it('splits the parts', () => {
    expect(parseReference(`127.0.0.1:5000/team/app:1.0@${DIGEST}`)).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'team/app',
      tag: '1.0',
      digest: DIGEST,
    });
    expect(parseReference('ghcr.io/o/app', { defaultTag: false })).toEqual({
      registry: 'ghcr.io',
      repository: 'o/app',
      tag: undefined,
      digest: undefined,
    });
  });

  it.each([
    ['', 'it is empty'],
    ['ghcr.io/octo org/app', 'it contains whitespace'],
    ['https://ghcr.io/o/app', "it is a URL; write the registry host without a scheme (no 'https://')"],
    ['Octo-Org/app', "the path component 'Octo-Org' has uppercase letters"],
    ['ghcr.io/o/App', "the path component 'App' has uppercase letters"],
    ['ghcr.io/o//app', "the path 'o//app' has an empty component (a leading, trailing or doubled '/')"],
    ['ghcr.io/o/app/', "the path 'o/app/' has an empty component (a leading, trailing or doubled '/')"],
    ['ghcr.io/o/app-', "the path component 'app-' ends with a separator"],
    ['ghcr.io/o/-app', "the path component '-app' starts with a separator"],
    [
      'ghcr.io/o/a..b',
      "the path component 'a..b' has the separator sequence '..' (only '.', '_', '__' or dashes join words)",
    ],
    [
      'ghcr.io/o/a___b',
      "the path component 'a___b' has the separator sequence '___' (only '.', '_', '__' or dashes join words)",
    ],
    [
      'ghcr.io/o/a.-b',
      "the path component 'a.-b' has the separator sequence '.-' (only '.', '_', '__' or dashes join words)",
    ],
    ['ghcr.io/o/app$', "the path component 'app$' contains '$'"],
    ['nginx:', 'the tag is empty'],
    ['nginx:-rc', "the tag '-rc' starts with '-'"],
    ['nginx:1.0+build', "the tag '1.0+build' contains '+'"],
    [`nginx:${'a'.repeat(129)}`, 'the tag is 129 characters long, more than 128'],
    ['nginx@', "the digest after '@' is empty"],
    ['nginx@sha256:abc', 'the digest has 3 hex characters instead of 64'],
    [`nginx@sha512:${'a'.repeat(128)}`, "the digest algorithm 'sha512' is not supported"],
    [`nginx@sha256:${'A'.repeat(64)}`, 'the digest has uppercase hex characters'],
    ['nginx@0123', "the digest '0123' has no algorithm (expected 'sha256:')"],
    [
      'bad_host.example.com/app',
      "the registry 'bad_host.example.com' is not a host name with an optional port",
    ],
    [`ghcr.io/o/${'a'.repeat(250)}`, 'the name is 260 characters long, more than 255'],
  ])('refuses %j: %s', (input, reason) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ImageReferenceError);
    expect((error as ImageReferenceError).reason).toBe(reason);
  });

  it('says what is wrong, what is accepted and which input it was', () => {
    expect(() => parseReference('ghcr.io/o/app:-x', { input: 'image' })).toThrow(
      `Input 'image' has an invalid image reference "ghcr.io/o/app:-x": the tag '-x' starts with '-'. Accepted: 1 to 128 characters of A-Z a-z 0-9 _ . - that do not start with '.' or '-'.`,
    );
    expect(() => parseReference('Nginx')).toThrow(
      "Image reference \"Nginx\" is invalid: the path component 'Nginx' has uppercase letters. Accepted: lowercase components of a-z and 0-9 separated by '/'; inside a component, words joined by '.', '_', '__' or dashes.",
    );
  });
});

describe('parseImageName', () => {
  it('takes a name without tag or digest', () => {
    expect(parseImageName('ghcr.io/octo-org/voyage')).toEqual({
      registry: 'ghcr.io',
      repository: 'octo-org/voyage',
    });
    expect(parseImageName('nginx')).toEqual({ registry: 'docker.io', repository: 'library/nginx' });
  });
  it('refuses a tag, since tags come from the rules', () => {
    expect(() => parseImageName('ghcr.io/o/app:1.0', { input: 'images' })).toThrow(
      'Input \'images\' has an invalid image reference "ghcr.io/o/app:1.0": an image name has no tag or digest here',
    );
  });
});

describe('formatting', () => {
  it('formats fully and familiarly', () => {
    const ref = parseReference('nginx:1.27');
    expect(formatReference(ref)).toBe('docker.io/library/nginx:1.27');
    expect(familiarReference(ref)).toBe('nginx:1.27');
    expect(familiarReference(parseReference('bitnami/redis'))).toBe('bitnami/redis:latest');
    expect(familiarReference(parseReference('ghcr.io/o/app:1'))).toBe('ghcr.io/o/app:1');
  });

  it('pins a digest, dropping the tag unless asked to keep it', () => {
    const ref = parseReference('ghcr.io/o/app:1.0');
    expect(formatReference(withDigest(ref, DIGEST))).toBe(`ghcr.io/o/app@${DIGEST}`);
    expect(formatReference(withDigest(ref, DIGEST, { keepTag: true }))).toBe(`ghcr.io/o/app:1.0@${DIGEST}`);
    expect(() => withDigest(ref, 'sha256:xyz')).toThrow(
      'Image reference "sha256:xyz" is invalid: the digest has characters that are not hex. Accepted: \'sha256:\' followed by 64 lowercase hex characters.',
    );
    expect(formatReference(withTag(withDigest(ref, DIGEST), 'stable'))).toBe('ghcr.io/o/app:stable');
    expect(() => withTag(ref, 'a/b')).toThrow(ImageReferenceError);
  });
});

describe('validators', () => {
  it.each([
    ['latest', true],
    ['1.2.3', true],
    ['_private', true],
    ['v1.0-rc.1', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['.hidden', false],
    ['-x', false],
    ['a:b', false],
    ['', false],
  ])('tag %j valid: %s', (tag, valid) => {
    expect(isValidTag(tag)).toBe(valid);
  });

  it('validates digests', () => {
    expect(isValidDigest(DIGEST)).toBe(true);
    expect(isValidDigest(DIGEST.slice(0, -1))).toBe(false);
    expect(isValidDigest(DIGEST.toUpperCase())).toBe(false);
    expect(validateTag('ok')).toBe('ok');
  });

  it('explains repository path problems and accepts good paths', () => {
    expect(repositoryPathProblem('octo-org/voyage-api')).toBeUndefined();
    expect(repositoryPathProblem('a/b.c/d__e')).toBeUndefined();
    expect(repositoryPathProblem('')).toBe('the repository path is empty');
    expect(repositoryPathProblem('a b')).toBe("the path component 'a b' contains a space");
  });
});
